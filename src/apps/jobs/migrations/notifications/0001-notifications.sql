-- The notification service's notifications. Each comes from one event and has that event's id, so a redelivered
-- event cannot notify twice.
CREATE TABLE notifications (
  id uuid PRIMARY KEY,
  user_id text NOT NULL,
  kind text NOT NULL,
  message text NOT NULL,
  job_id text,
  application_id text,
  read boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC);
