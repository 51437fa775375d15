// The outbox relay's publishing of one batch read from the outbox: each topic's rows in cursor order, in requests of
// at most PRODUCE_REQUEST_RECORD_BYTES_MAX one after another, so that rows with the same key reach their partition in
// that order; topics side by side. A topic whose request fails keeps the rest of its rows back too, so that no row
// overtakes an earlier one of its key; the cursor then stops before the first row not acknowledged, and what follows
// it is sent again (at least once).

import type { OutboxRecord } from "../store/index.js";
import { publishRelayStage } from "./diagnostics.js";
import { describeError, PublishError } from "./errors.js";
import { chunkRecords, type KafkaProducer, type ProducerRecord } from "./kafka/producer.js";
import type { ToolkitLogger } from "./logger.js";
import type { PublishingMetrics } from "./metrics.js";

/** What the broker acknowledged, and what it did not, with why. */
export interface SendOutcome {
  sent: OutboxRecord[];
  /** retriable is false when the broker refused the request for good (see PublishError), which may lead to parking. */
  failed: Array<{ record: OutboxRecord; reason: string; retriable: boolean }>;
}

export interface SendContext {
  producer: KafkaProducer;
  metrics: PublishingMetrics;
  logger: ToolkitLogger;
  relayId: string;
  /** The outbox's schema, which names the relay's stage events for diagnostics. */
  schema: string;
  /** The attempt a failure is logged as (the relay's consecutive failures so far, plus one). */
  attempt: number;
}

/** Groups records by topic, keeping their order within each topic. */
function byTopic(records: readonly OutboxRecord[]): Map<string, Array<ProducerRecord & { row: OutboxRecord }>> {
  const topics = new Map<string, Array<ProducerRecord & { row: OutboxRecord }>>();
  for (const record of records) {
    let list = topics.get(record.topic);
    if (list === undefined) {
      list = [];
      topics.set(record.topic, list);
    }
    list.push({ topic: record.topic, key: record.key, value: record.value, headers: record.headers, row: record });
  }
  return topics;
}

/** Sends each topic's rows in id order, topics side by side; resolves with what the broker acknowledged and what not. */
export async function sendOutboxRecords(records: readonly OutboxRecord[], context: SendContext): Promise<SendOutcome> {
  const { producer, metrics, logger } = context;
  const sent: OutboxRecord[] = [];
  const failed: SendOutcome["failed"] = [];
  await Promise.all(
    [...byTopic(records)].map(async ([topic, list]) => {
      const chunks = chunkRecords(list);
      for (const [index, chunk] of chunks.entries()) {
        try {
          await producer.send(chunk.map(({ row: _row, ...record }) => record));
          const rows = chunk.map((entry) => entry.row);
          publishRelayStage("acknowledged", context.schema, rows);
          for (const row of rows) sent.push(row);
          metrics.eventsProduced.inc({ topic, source: "outbox" }, chunk.length);
        } catch (error) {
          const reason = describeError(error);
          // Only an error that says so is final: anything else (a lost connection, a timeout) may pass.
          const retriable = !(error instanceof PublishError) || error.retriable;
          const rest = chunks.slice(index).flat();
          for (const entry of rest) failed.push({ record: entry.row, reason, retriable });
          logger.warn(
            { relayId: context.relayId, topic, attempt: context.attempt, rows: rest.length, err: error },
            `publishing outbox rows to "${topic}" failed; they are retried with backoff: ${reason}`,
          );
          return;
        }
      }
    }),
  );
  return { sent, failed };
}

/** The longest run of records, from the first, that the broker acknowledged: the cursor may move past these. */
export function acknowledgedPrefix(records: readonly OutboxRecord[], sent: readonly OutboxRecord[]): OutboxRecord[] {
  const acknowledged = new Set(sent);
  const end = records.findIndex((record) => !acknowledged.has(record));
  return end === -1 ? [...records] : records.slice(0, end);
}
