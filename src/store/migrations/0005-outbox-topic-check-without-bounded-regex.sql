-- The same rule for topic names (1 to 249 of A-Z a-z 0-9 . _ -), checked without the regular expression's bounded
-- repeat: PostgreSQL's regular expressions unroll {1,249} into 249 states, and every INSERT, claim and mark of a row
-- re-checks the table's constraints, so that one check took about a tenth of an outbox writer's CPU time on PGlite.
ALTER TABLE sluice_outbox
  DROP CONSTRAINT sluice_outbox_topic_valid,
  ADD CONSTRAINT sluice_outbox_topic_valid CHECK (topic ~ '^[A-Za-z0-9._-]+$' AND octet_length(topic) <= 249);
