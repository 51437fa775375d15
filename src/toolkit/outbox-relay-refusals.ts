// What the outbox relay does with rows the broker did not acknowledge: it counts the failure on each row, warns about
// rows that keep failing, and parks a row the broker keeps refusing for good (a non-retriable error), so that one such
// row no longer stalls the whole outbox. A parked row is set aside with the broker's reason and the cursor moves past
// it in one statement; an operator sends it again once the cause is fixed (the console's outbox page, `sluice outbox
// requeue`, or requeueParkedOutboxRows).

import {
  parkOutboxRow,
  recordOutboxFailures,
  type Database,
  type OutboxPosition,
  type OutboxRecord,
} from "../store/index.js";
import type { ToolkitLogger } from "./logger.js";
import type { PublishingMetrics } from "./metrics.js";
import { RELAY_STUCK_FAILED_ATTEMPTS } from "./outbox-relay-options.js";
import type { SendOutcome } from "./outbox-relay-publish.js";

/** Parked (the cursor moved past the row), refused because another relay took the cursor, or failed. */
export type ParkOutcome = "parked" | "lost" | "failed";

export interface RefusalContext {
  db: Database;
  relayId: string;
  leaseMs: number;
  metrics: PublishingMetrics;
  logger: ToolkitLogger;
}

export function positionOf(record: OutboxRecord): OutboxPosition {
  return { xid: record.xid, id: record.id };
}

/** Counts the failure on the rows not acknowledged and warns about those that keep failing; returns the reason. */
export async function recordRefusals(context: RefusalContext, failed: SendOutcome["failed"]): Promise<string> {
  const { db, relayId, logger } = context;
  const reason = failed[0]?.reason ?? "the broker did not acknowledge these rows";
  try {
    await recordOutboxFailures(
      db,
      failed.map((entry) => entry.record.id),
      reason,
    );
  } catch (error) {
    logger.debug({ relayId, err: error }, "recording failed outbox sends failed");
  }
  const stuck = failed.filter((entry) => entry.record.failedAttempts + 1 >= RELAY_STUCK_FAILED_ATTEMPTS);
  if (stuck.length > 0) {
    logger.error(
      { relayId, ids: stuck.slice(0, 20).map((entry) => entry.record.id) },
      `outbox rows have failed to publish ${RELAY_STUCK_FAILED_ATTEMPTS} times or more: ${reason}`,
    );
  }
  return reason;
}

/**
 * The row that held a failed batch back (the first after the acknowledged prefix), when the broker refused it for good
 * and it has failed parkAfterFailedAttempts times (0: never park); otherwise null.
 */
export function rowToPark(
  records: readonly OutboxRecord[],
  acknowledged: number,
  failed: SendOutcome["failed"],
  parkAfterFailedAttempts: number,
): OutboxRecord | null {
  const blocker = records[acknowledged]!;
  const refusal = failed.find((entry) => entry.record === blocker);
  if (parkAfterFailedAttempts > 0 && refusal?.retriable === false) {
    if (blocker.failedAttempts + 1 >= parkAfterFailedAttempts) return blocker;
  }
  return null;
}

/** Parks record, which the broker refused for good again when sent alone, and moves the cursor past it. */
export async function parkRefusedRow(
  context: RefusalContext,
  record: OutboxRecord,
  reason: string,
): Promise<ParkOutcome> {
  const { db, relayId, logger } = context;
  let held: boolean;
  try {
    held = await parkOutboxRow(db, relayId, positionOf(record), reason, { leaseMs: context.leaseMs });
  } catch (error) {
    logger.warn({ relayId, err: error }, `parking outbox row ${record.id} failed`);
    return "failed";
  }
  if (!held) return "lost";
  context.metrics.outboxParked.inc({ schema: db.schema, topic: record.topic });
  logger.error(
    { relayId, ids: [record.id], eventId: record.eventId, topic: record.topic },
    `parked outbox row ${record.id} of ${db.schema} after ${record.failedAttempts + 2} refusals, later rows go on; ` +
      "send it again once the cause is fixed (the console's outbox page, `sluice outbox requeue` or " +
      `requeueParkedOutboxRows): ${reason}`,
  );
  return "parked";
}
