-- Wordium's stored notifications, owned by its notifications service: one row per user-notifications event (its
-- id is the event's), read or unread; and the administrators' broadcasts, each written with its
-- notification.broadcast event in one transaction.
CREATE TABLE notifications (
  id uuid PRIMARY KEY,
  recipient_id uuid NOT NULL,
  kind text NOT NULL,
  actor_id uuid NOT NULL,
  actor text NOT NULL,
  created_at timestamptz NOT NULL,
  read_at timestamptz
);
CREATE INDEX notifications_recipient ON notifications (recipient_id, created_at DESC);

CREATE TABLE broadcasts (
  id uuid PRIMARY KEY,
  message text NOT NULL,
  sent_by text NOT NULL,
  sent_at timestamptz NOT NULL DEFAULT now()
);
