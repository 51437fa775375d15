-- The analytics service's record of every event it consumed, one row per event id: a redelivered event adds
-- nothing, and the order events arrive in changes no count.
CREATE TABLE analytics_events (
  event_id uuid PRIMARY KEY,
  topic text NOT NULL,
  event_type text NOT NULL,
  occurred_at timestamptz NOT NULL,
  entity_id text NOT NULL,
  job_id text,
  job_title text,
  status text
);
CREATE INDEX analytics_events_type_time ON analytics_events (event_type, occurred_at);
