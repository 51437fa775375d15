-- Parked rows: a row the broker refused for good (too large, invalid, a topic the relay may not write) after the
-- relay's parkAfterFailedAttempts tries. The relay sets parked_at in the same statement that moves the cursor past the
-- row, so that later rows flow; last_error says why. A parked row stays behind the cursor, where the cleanup leaves it,
-- until requeueParkedOutboxRows adds it again as a new row.
ALTER TABLE sluice_outbox ADD COLUMN parked_at timestamptz;

-- Parked rows are few; the console and the requeue find them without reading the outbox.
CREATE INDEX sluice_outbox_parked_idx ON sluice_outbox (id) WHERE parked_at IS NOT NULL;
