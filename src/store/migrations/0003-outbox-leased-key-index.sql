-- The claim's check for keys in flight at a relay reads only leased rows, through this small partial index; the
-- index it replaces held every unpublished keyed row, so the check slowed down as the backlog grew.
CREATE INDEX sluice_outbox_leased_key_idx ON sluice_outbox (topic, partition_key, id)
  WHERE published_at IS NULL AND claimed_by IS NOT NULL AND partition_key IS NOT NULL;

DROP INDEX sluice_outbox_unpublished_key_idx;
