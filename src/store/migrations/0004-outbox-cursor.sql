-- The outbox relay reads the outbox from a cursor instead of leasing and marking every row: a sent row is never
-- written again, only deleted by the cleanup after the retention. Claims and marks used to update each row twice,
-- and since both changed indexed columns, every update wrote a new row version and an entry in each index; they were
-- about half of the database's time for a relay on the server, and a third to a half of the message board's on PGlite.

-- The transaction that added the row. The relay reads rows in (xid, id) order, and only rows of transactions older
-- than every transaction still running (the snapshot's xmin), so that no transaction can still commit a row behind
-- the cursor. Rows already here get this migration's transaction id (the default is evaluated for each of them).
ALTER TABLE sluice_outbox ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();

-- One cursor per outbox: how far rows have been published, and the lease of the relay that publishes them. A small
-- table whose updates change no indexed column, so they are HOT updates in place.
CREATE TABLE sluice_outbox_cursor (
  only_row boolean PRIMARY KEY DEFAULT true CONSTRAINT sluice_outbox_cursor_one_row CHECK (only_row),
  -- Rows at or before (position_xid, position_id) have been published.
  position_xid xid8 NOT NULL,
  position_id bigint NOT NULL,
  -- The relay publishing now, and until when; a relay that does not renew its lease loses the cursor to another.
  relay_id text,
  lease_expires_at timestamptz,
  -- How far the relay has read, for the lag's count of rows in flight.
  read_xid xid8,
  read_id bigint,
  CONSTRAINT sluice_outbox_cursor_lease_complete CHECK ((relay_id IS NULL) = (lease_expires_at IS NULL))
) WITH (fillfactor = 50);

-- Rows published before this migration are moved behind the cursor (transaction id 1 is below every real one), and
-- the cursor starts before the first row of this migration's transaction: rows still waiting are published next, in
-- id order. Leases of relays of the previous version end here; their rows are published again (at least once).
UPDATE sluice_outbox SET xid = '1' WHERE published_at IS NOT NULL;
INSERT INTO sluice_outbox_cursor (position_xid, position_id) VALUES (pg_current_xact_id(), 0);

-- The relay's read beyond the cursor, the lag, and the cleanup behind it.
CREATE INDEX sluice_outbox_position_idx ON sluice_outbox (xid, id);

DROP INDEX sluice_outbox_unpublished_idx;
DROP INDEX sluice_outbox_leased_key_idx;
DROP INDEX sluice_outbox_published_at_idx;
ALTER TABLE sluice_outbox DROP CONSTRAINT sluice_outbox_claim_complete;
ALTER TABLE sluice_outbox DROP COLUMN claimed_by, DROP COLUMN claim_expires_at, DROP COLUMN published_at;
-- Now counted when a send fails, not when a row is claimed: a row that keeps failing shows up here.
ALTER TABLE sluice_outbox RENAME COLUMN claim_count TO failed_attempts;
