-- The tables behind the toolkit's transactional outbox (producing side) and idempotent inbox (consuming side).

-- Events waiting to be published. A service inserts rows in the same transaction as its business writes; relays
-- claim them, publish them to Kafka, then mark them published (or delete them).
CREATE TABLE sluice_outbox (
  id bigserial PRIMARY KEY,
  -- Travels with the event (in a header), so that an inbox can recognise a redelivery.
  event_id uuid NOT NULL UNIQUE,
  topic text NOT NULL CONSTRAINT sluice_outbox_topic_valid CHECK (topic ~ '^[A-Za-z0-9._-]{1,249}$'),
  -- Rows with the same topic and partition key are published in id order; NULL asks for no order.
  partition_key text CONSTRAINT sluice_outbox_partition_key_length CHECK (octet_length(partition_key) <= 4096),
  -- The record key and value exactly as they will be sent: the caller serialises them inside its own transaction,
  -- so a value that cannot be encoded fails the business write instead of blocking the relay later.
  key bytea,
  value bytea,
  -- Record headers, a JSON object of string values (for example traceparent).
  headers jsonb NOT NULL DEFAULT '{}'::jsonb
    CONSTRAINT sluice_outbox_headers_strings
    CHECK (jsonb_typeof(headers) = 'object' AND NOT jsonb_path_exists(headers, '$.* ? (@.type() != "string")')),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- A relay's lease on an unpublished row: taken when it claims the row, cleared when it publishes or gives up.
  claimed_by text,
  claim_expires_at timestamptz,
  -- How often the row has been claimed, and why the last attempt failed: a row that keeps failing shows up here.
  claim_count integer NOT NULL DEFAULT 0,
  last_error text,
  published_at timestamptz,
  CONSTRAINT sluice_outbox_claim_complete CHECK ((claimed_by IS NULL) = (claim_expires_at IS NULL))
);

-- The relay's scan for the next unpublished rows in id order, and the lag (count, oldest).
CREATE INDEX sluice_outbox_unpublished_idx ON sluice_outbox (id) WHERE published_at IS NULL;

-- The claim's check for an earlier unpublished row of the same key that another relay is still publishing.
CREATE INDEX sluice_outbox_unpublished_key_idx ON sluice_outbox (topic, partition_key, id)
  WHERE published_at IS NULL AND partition_key IS NOT NULL;

-- Cleanup of rows published longer ago than the retention.
CREATE INDEX sluice_outbox_published_at_idx ON sluice_outbox (published_at) WHERE published_at IS NOT NULL;

-- Wakes relays listening on channel sluice_outbox when rows are committed. NOTIFY is database-wide, so the payload
-- names the schema; listeners of other schemas ignore it. One notification per statement, and none when an
-- INSERT ... ON CONFLICT DO NOTHING added no row.
CREATE FUNCTION sluice_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM inserted_rows) THEN
    PERFORM pg_notify('sluice_outbox', TG_TABLE_SCHEMA);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER sluice_outbox_notify
  AFTER INSERT ON sluice_outbox
  REFERENCING NEW TABLE AS inserted_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sluice_outbox_notify();

-- Events a consumer group has processed. The handler's writes and this row commit together; a redelivered event
-- finds its row and is skipped. Event ids are text, not uuid, because events may come from producers that are
-- not Sluice's outbox.
CREATE TABLE sluice_inbox (
  consumer_group text NOT NULL CONSTRAINT sluice_inbox_group_length CHECK (length(consumer_group) BETWEEN 1 AND 255),
  event_id text NOT NULL CONSTRAINT sluice_inbox_event_id_length CHECK (length(event_id) BETWEEN 1 AND 255),
  topic text NOT NULL,
  partition integer NOT NULL CONSTRAINT sluice_inbox_partition_valid CHECK (partition >= 0),
  -- "offset" is a reserved word in SQL.
  record_offset bigint NOT NULL CONSTRAINT sluice_inbox_offset_valid CHECK (record_offset >= 0),
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, event_id)
);

-- Cleanup of records older than the deduplication window.
CREATE INDEX sluice_inbox_processed_at_idx ON sluice_inbox (processed_at);
