// The outbox and inbox API over the toolkit's tables, in every schema of the database that has them (each service
// keeps its own): pending outbox rows (beyond the relay's cursor) per topic with the oldest one's age, the relay
// holding the cursor, the rows it parked (and requeueing them, see outbox-parked.ts), inbox records per consumer group;
// and the path of one event: its outbox row, where it was published, and each group's inbox record.

import type { FastifyInstance } from "fastify";

import { validationFailed } from "../gateway/errors.js";
import type { Database } from "../store/database.js";
import { isUuid } from "../store/event-ids.js";
import { quoteIdentifier } from "../store/identifiers.js";
import { EVENT_HEADERS } from "../toolkit/event.js";
import { actorOf, type ConsoleContext } from "./context.js";
import { notFound, unavailableWithout } from "./errors.js";
import {
  iso,
  parkedRows,
  requeueParked,
  REQUEUE_ROWS_MAX,
  schemasWith,
  type RequeueSelection,
} from "./outbox-parked.js";
import { objectBody, optionalBoolean, type Fields } from "./params.js";
import { searchSlice, startCursor } from "./search.js";

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
const SCHEMA_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
export async function outboxSummary(database: Database) {
  const outboxes = [];
  for (const schema of await schemasWith(database, "sluice_outbox")) {
    const table = `${quoteIdentifier(schema)}.sluice_outbox`;
    const cursor = `${quoteIdentifier(schema)}.sluice_outbox_cursor`;
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
       FROM ${quoteIdentifier(schema)}.sluice_inbox GROUP BY consumer_group ORDER BY consumer_group`,
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
  if (isUuid(eventId)) {
    for (const schema of await schemasWith(database, "sluice_outbox")) {
      const rows = await database.query<Record<string, unknown>>(
        // parked_at through to_jsonb: a schema not upgraded to migration 0006 has no such column.
        `SELECT o.id::text, o.topic, o.partition_key, o.created_at, o.failed_attempts, o.last_error,
           to_jsonb(o) ->> 'parked_at' AS parked_at,
           (o.xid, o.id) <= (c.position_xid, c.position_id) AND to_jsonb(o) ->> 'parked_at' IS NULL AS published
         FROM ${quoteIdentifier(schema)}.sluice_outbox o, ${quoteIdentifier(schema)}.sluice_outbox_cursor c WHERE o.event_id = $1::uuid`,
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
       FROM ${quoteIdentifier(schema)}.sluice_inbox WHERE event_id = $1 ORDER BY processed_at`,
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
  app.post("/api/outbox/:schema/requeue", { preHandler: context.change }, async (request) => {
    const schema = (request.params as Fields).schema;
    if (typeof schema !== "string" || !SCHEMA_NAME_PATTERN.test(schema)) {
      throw validationFailed("schema", "schema must be a PostgreSQL schema name (letters, digits, '_', '$')");
    }
    const selection = requeueSelection(objectBody(request.body));
    const details = "all" in selection ? { all: true } : { ids: selection.ids.length };
    const report = await context.audit.record(actorOf(request), "outbox.requeue", schema, details, () =>
      requeueParked(database(), schema, selection),
    );
    if (report === null) throw notFound(`the schema ${schema} has no outbox`);
    return report;
  });
}

/** The body of a requeue: { ids: [row ids] } or { all: true }, not both. */
function requeueSelection(body: Fields): RequeueSelection {
  const all = optionalBoolean(body, "all") ?? false;
  const ids = body.ids;
  if (all && ids !== undefined) throw validationFailed("ids", "give ids or all, not both");
  if (all) return { all: true };
  if (ids === undefined) throw validationFailed("ids", "give ids (the parked rows' ids) or all: true");
  if (
    !Array.isArray(ids) ||
    ids.length === 0 ||
    ids.length > REQUEUE_ROWS_MAX ||
    ids.some((id) => !Number.isSafeInteger(id) || (id as number) < 1)
  ) {
    throw validationFailed("ids", `ids must be a list of 1 to ${REQUEUE_ROWS_MAX} row ids (positive integers)`);
  }
  return { ids: ids as number[] };
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
