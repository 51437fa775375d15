// The outbox and inbox API over the toolkit's tables, in every schema of the database that has them (each service
// keeps its own): pending outbox rows (beyond the relay's cursor) per topic with the oldest one's age, the relay
// holding the cursor, the rows it parked, inbox records per consumer group; and the path of one event: its outbox row, where it was
// published, and each group's inbox record.

import type { FastifyInstance } from "fastify";

import { validationFailed } from "../gateway/errors.js";
import type { Database } from "../store/database.js";
import type { ConsoleContext } from "./context.js";
import { unavailableWithout } from "./errors.js";
import { searchSlice, startCursor } from "./search.js";
import { EVENT_HEADERS } from "../toolkit/event.js";
import type { Fields } from "./params.js";

const EVENT_ID_CHARS_MAX = 255;
/** How long before an outbox row's creation the search for its record starts: the relay's and broker's clocks differ. */
export const EVENT_LOCATE_SLACK_MS = 60_000;
/** Records read per topic looking for an event's record by its id header; past this the step is left out. */
export const EVENT_LOCATE_SCAN_MAX = 100_000;

/** Finds the record an outbox row became: the topic's records from `since` on, by their event-id header. */
export type EventLocator = (
  topic: string,
  eventId: string,
  since: number,
) => Promise<{ partition: number; offset: number; timestamp: number } | null>;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Schemas inspected at most; a database with more lists the first by name. */
export const SCHEMAS_MAX = 100;

function quoted(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

async function schemasWith(database: Database, table: string): Promise<string[]> {
  const result = await database.query<{ table_schema: string }>(
    "SELECT table_schema FROM information_schema.tables WHERE table_name = $1 ORDER BY table_schema LIMIT $2",
    [table, SCHEMAS_MAX],
  );
  return result.rows.map((row) => row.table_schema);
}

/** Parked rows listed per schema at most; the rest are counted. */
export const PARKED_ROWS_LISTED_MAX = 100;

/** Whether a schema's outbox has parked rows (migration 0006); a service not upgraded yet has none. */
async function hasParkedColumn(database: Database, schema: string): Promise<boolean> {
  const result = await database.query(
    "SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'sluice_outbox' AND column_name = 'parked_at'",
    [schema],
  );
  return result.rows.length > 0;
}

/** The rows the relay parked (the broker refused them for good), oldest first, and how many there are. */
async function parkedRows(database: Database, schema: string) {
  if (!(await hasParkedColumn(database, schema))) return { count: 0, rows: [] };
  const result = await database.query<{
    id: string;
    event_id: string;
    topic: string;
    parked_at: Date;
    failed_attempts: number;
    last_error: string | null;
    total: string;
  }>(
    `SELECT id::text, event_id::text, topic, parked_at, failed_attempts, last_error, count(*) OVER ()::text AS total
     FROM ${quoted(schema)}.sluice_outbox WHERE parked_at IS NOT NULL ORDER BY id LIMIT $1`,
    [PARKED_ROWS_LISTED_MAX],
  );
  return {
    count: Number(result.rows[0]?.total ?? 0),
    rows: result.rows.map((row) => ({
      id: Number(row.id),
      eventId: row.event_id,
      topic: row.topic,
      parkedAt: iso(row.parked_at),
      failedAttempts: row.failed_attempts,
      lastError: row.last_error,
    })),
  };
}

const iso = (value: unknown): string | null =>
  value instanceof Date ? value.toISOString() : value === null ? null : String(value);

export async function outboxSummary(database: Database) {
  const outboxes = [];
  for (const schema of await schemasWith(database, "sluice_outbox")) {
    const table = `${quoted(schema)}.sluice_outbox`;
    const cursor = `${quoted(schema)}.sluice_outbox_cursor`;
    const pending = await database.query<{ topic: string; pending: string; oldest: Date }>(
      `SELECT o.topic, count(*)::text AS pending, min(o.created_at) AS oldest FROM ${table} o, ${cursor} c
       WHERE (o.xid, o.id) > (c.position_xid, c.position_id) GROUP BY o.topic ORDER BY o.topic`,
    );
    // The rows the relay holding the cursor has read and is publishing now.
    const leases = await database.query<{ claimed_by: string; rows: string; expires: Date }>(
      `SELECT c.relay_id AS claimed_by, c.lease_expires_at AS expires,
         (SELECT count(*) FROM ${table} o
          WHERE (o.xid, o.id) > (c.position_xid, c.position_id) AND (o.xid, o.id) <= (c.read_xid, c.read_id))::text AS rows
       FROM ${cursor} c WHERE c.relay_id IS NOT NULL`,
    );
    const parked = await parkedRows(database, schema);
    outboxes.push({
      schema,
      parkedCount: parked.count,
      parked: parked.rows,
      pending: pending.rows.map((row) => ({
        topic: row.topic,
        pending: Number(row.pending),
        oldest: iso(row.oldest),
        oldestAgeMs: Date.now() - new Date(row.oldest).getTime(),
      })),
      relays: leases.rows.map((row) => ({
        relay: row.claimed_by,
        claimedRows: Number(row.rows),
        leaseExpires: iso(row.expires),
      })),
    });
  }
  const inboxes = [];
  for (const schema of await schemasWith(database, "sluice_inbox")) {
    const groups = await database.query<{ consumer_group: string; records: string; latest: Date }>(
      `SELECT consumer_group, count(*)::text AS records, max(processed_at) AS latest
       FROM ${quoted(schema)}.sluice_inbox GROUP BY consumer_group ORDER BY consumer_group`,
    );
    inboxes.push({
      schema,
      groups: groups.rows.map((row) => ({
        group: row.consumer_group,
        records: Number(row.records),
        latest: iso(row.latest),
      })),
    });
  }
  return { outboxes, inboxes };
}

export async function eventPath(database: Database, eventId: string, locate: EventLocator | null = null) {
  const steps: Array<Record<string, unknown>> = [];
  if (UUID_PATTERN.test(eventId)) {
    for (const schema of await schemasWith(database, "sluice_outbox")) {
      const rows = await database.query<Record<string, unknown>>(
        // parked_at through to_jsonb: a schema not upgraded to migration 0006 has no such column.
        `SELECT o.id::text, o.topic, o.partition_key, o.created_at, o.failed_attempts, o.last_error,
           to_jsonb(o) ->> 'parked_at' AS parked_at,
           (o.xid, o.id) <= (c.position_xid, c.position_id) AND to_jsonb(o) ->> 'parked_at' IS NULL AS published
         FROM ${quoted(schema)}.sluice_outbox o, ${quoted(schema)}.sluice_outbox_cursor c WHERE o.event_id = $1::uuid`,
        [eventId],
      );
      for (const row of rows.rows) {
        steps.push({
          step: "outbox",
          schema,
          topic: row.topic,
          partitionKey: row.partition_key,
          createdAt: iso(row.created_at),
          // The relay's cursor has passed the row; when is not recorded, since publishing writes nothing to it.
          published: row.published === true,
          failedAttempts: row.failed_attempts,
          lastError: row.last_error,
          // The relay passed the row without publishing it: the broker refused it for good.
          parkedAt: row.parked_at ?? null,
        });
        const createdAt = row.created_at instanceof Date ? row.created_at.getTime() : null;
        const found =
          locate === null || row.published !== true || createdAt === null
            ? null
            : await locate(String(row.topic), eventId, Math.max(0, createdAt - EVENT_LOCATE_SLACK_MS));
        if (found !== null) {
          steps.push({ step: "topic", topic: row.topic, ...found, timestamp: iso(new Date(found.timestamp)) });
        }
      }
    }
  }
  for (const schema of await schemasWith(database, "sluice_inbox")) {
    const rows = await database.query<Record<string, unknown>>(
      `SELECT consumer_group, topic, partition, record_offset::text AS record_offset, processed_at
       FROM ${quoted(schema)}.sluice_inbox WHERE event_id = $1 ORDER BY processed_at`,
      [eventId],
    );
    for (const row of rows.rows) {
      steps.push({
        step: "inbox",
        schema,
        group: row.consumer_group,
        topic: row.topic,
        partition: row.partition,
        offset: Number(row.record_offset),
        processedAt: iso(row.processed_at),
      });
    }
  }
  return { eventId, steps };
}

export async function outboxRoutes(app: FastifyInstance, context: ConsoleContext): Promise<void> {
  const database = () => {
    if (context.database === null) throw unavailableWithout("database for outbox and inbox", "--database-url");
    return context.database;
  };
  app.get("/api/outbox", { preHandler: context.view }, async () => outboxSummary(database()));
  app.get("/api/events/:id", { preHandler: context.view }, async (request) => {
    const eventId = (request.params as Fields).id;
    if (typeof eventId !== "string" || eventId === "" || eventId.length > EVENT_ID_CHARS_MAX) {
      throw validationFailed("id", `an event id is 1 to ${EVENT_ID_CHARS_MAX} characters`);
    }
    return eventPath(database(), eventId, locator(context));
  });
}

/** Looks for the event's record with the filter's scanner, bounded by EVENT_LOCATE_SCAN_MAX records per topic. */
function locator(context: ConsoleContext): EventLocator {
  return async (topic, eventId, since) => {
    let cursor = await startCursor(context, topic, undefined, undefined, since).catch(() => null);
    while (cursor !== null) {
      const slice = await searchSlice(
        context,
        topic,
        {
          cursor,
          filter: { header: `${EVENT_HEADERS.id}=${eventId}` },
          matchesMax: 1,
          scanMax: EVENT_LOCATE_SCAN_MAX,
        },
        async () => null,
      );
      const match = slice.matches[0];
      if (match !== undefined) return { partition: match.partition, offset: match.offset, timestamp: match.timestamp };
      cursor = slice.cursor;
    }
    return null;
  };
}
