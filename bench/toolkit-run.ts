// What the measures of bench:toolkit share: the run they measure (one database over one transport), its topics and
// events, the inbox consumer they drive, and waiting for a condition with a deadline.

import { Type } from "@sinclair/typebox";

import type { Database, DatabaseKind } from "../src/store/index.js";
import {
  addManyToOutbox,
  createConsumer,
  defineAvroTopic,
  defineTopic,
  ensureTopics,
  type AmqpClient,
  type ConsumedEvent,
  type InboxConsumer,
  type KafkaClient,
  type Queryable,
  type TopicDefinition,
  type TransportClient,
} from "../src/toolkit/index.js";
import type { ToolkitArgs } from "./toolkit-args.js";
import type { CpuMeter } from "./toolkit-cpu.js";

export const PARTITIONS = 4;
/** handlersAtOnce of the consumer row that lets a transaction's handlers of different keys run at once. */
export const HANDLERS_AT_ONCE = 16;
const OUTBOX_INSERT_BATCH = 500;
export const DRAIN_TIMEOUT_MS = 120_000;

export interface BenchValue {
  entryId: string;
  accountId: string;
  amountCents: number;
}

/** One database over one transport, as every measure gets it. */
export interface BenchRun {
  db: Database;
  client: TransportClient;
  kind: DatabaseKind;
  settings: ToolkitArgs;
  /** Names on a shared RabbitMQ server get a prefix of this run's; the Kafka broker is this run's own. */
  namePrefix: string;
  /** The registry Avro topics register with (--format avro), in this process; null with JSON. */
  registryUrl: string | null;
  /** Starts measuring CPU time, this run's PostgreSQL server connections included when that is the database. */
  cpuMeter: () => CpuMeter;
}

export { log } from "./common.js";

export function benchEvent(run: BenchRun, name: string): TopicDefinition<BenchValue> {
  const shape = { name, partitions: PARTITIONS, eventType: "BenchEvent", key: (event: BenchValue) => event.accountId };
  if (run.settings.format === "json") {
    return defineTopic({
      ...shape,
      schema: Type.Object({ entryId: Type.String(), accountId: Type.String(), amountCents: Type.Integer() }),
    });
  }
  if (run.registryUrl === null) throw new Error("the schema registry is not running");
  return defineAvroTopic<BenchValue>({
    ...shape,
    schema: {
      type: "record",
      name: "BenchEvent",
      fields: [
        { name: "entryId", type: "string" },
        { name: "accountId", type: "string" },
        { name: "amountCents", type: "long" },
      ],
    },
    registry: { url: run.registryUrl },
  });
}

function values(count: number, prefix: string): BenchValue[] {
  return Array.from({ length: count }, (_, index) => ({
    entryId: `${prefix}-${index}`,
    accountId: `account-${index % 64}`,
    amountCents: index,
  }));
}

/** Adds count events to the outbox, OUTBOX_INSERT_BATCH a transaction, their entry ids starting with prefix. */
export async function fillOutbox(
  db: Database,
  topic: TopicDefinition<BenchValue>,
  count: number,
  prefix: string,
): Promise<void> {
  for (let first = 0; first < count; first += OUTBOX_INSERT_BATCH) {
    const batch = values(Math.min(OUTBOX_INSERT_BATCH, count - first), `${prefix}-${first}`);
    await db.transaction((tx) => addManyToOutbox(tx, topic, batch));
  }
}

export async function until(
  description: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  progress: () => string = () => "",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description} ${progress()}`.trimEnd());
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function countRows(db: Database, table: string): Promise<number> {
  const { rows } = await db.query<{ total: number }>(`SELECT count(*)::int AS total FROM ${table}`);
  return rows[0]?.total ?? 0;
}

/**
 * Makes sure the topic exists; on RabbitMQ also the group's queue, so that events published before the consumer
 * starts (the relay measures run first) wait there instead of being refused as unroutable.
 */
export async function ensureTopic(
  client: TransportClient,
  topic: TopicDefinition<BenchValue>,
  groupId: string,
): Promise<void> {
  if (client.kind === "amqp") {
    const amqpClient = client as AmqpClient;
    const channel = await amqpClient.connection.channel();
    try {
      await amqpClient.topology.declareSubscription(channel, topic.name, groupId);
    } finally {
      await channel.close();
    }
    return;
  }
  await ensureTopics(client as KafkaClient, [topic]);
}

/**
 * How the consumer handles events: with a groupHandler that writes nothing (what the toolkit's guarantees cost
 * alone: the inbox records, the transaction and the commit or ack after it), with a one-event handler that writes
 * nothing (adding the per-event handler's machinery: its timeout, trace span and hooks), then writing one row per
 * event one at a time, with handlersAtOnce, or with a groupHandler.
 */
/** The consumer measures, in the order they run (--consumer picks some of them). */
export const CONSUMER_MODES = ["none-grouped", "none", "one", "at-once", "grouped"] as const;
export type ConsumerMode = (typeof CONSUMER_MODES)[number];

export function consumerOf(
  client: TransportClient,
  db: Database,
  topic: TopicDefinition<BenchValue>,
  groupId: string,
  onCommit?: (eventId: string) => void,
  mode: ConsumerMode = "one",
  onHandlerStart?: (eventId: string) => void,
): InboxConsumer {
  const grouped = mode === "grouped" || mode === "none-grouped";
  return createConsumer({
    client,
    db,
    groupId,
    topics: [topic],
    concurrency: PARTITIONS,
    handlersAtOnce: mode === "at-once" ? HANDLERS_AT_ONCE : 1,
    fetchWaitMs: 50,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    lagRefreshIntervalMs: 60_000,
    handler: async (event, tx) => {
      if (mode === "none" || mode === "none-grouped") return;
      await tx.query("INSERT INTO bench_ledger (entry_id, account_id, amount_cents) VALUES ($1, $2, $3)", [
        event.value.entryId,
        event.value.accountId,
        event.value.amountCents,
      ]);
    },
    // With grouped, a partition's events come a group at a time and are stored with one INSERT per group.
    ...(grouped
      ? {
          groupHandler: async (
            events: ReadonlyArray<ConsumedEvent<{ entryId: string; accountId: string; amountCents: number }>>,
            tx: Queryable,
          ) => {
            if (mode === "none-grouped") return;
            const tuples = events.map(
              (_, index) => `($${3 * index + 1}, $${3 * index + 2}, $${3 * index + 3}::integer)`,
            );
            await tx.query(
              `INSERT INTO bench_ledger (entry_id, account_id, amount_cents) VALUES ${tuples.join(", ")}`,
              events.flatMap((event) => [event.value.entryId, event.value.accountId, event.value.amountCents]),
            );
          },
        }
      : {}),
    // after-commit runs right after the handler's transaction commits, before the offset commit.
    hooks: {
      at: (context) => {
        if (context.point === "after-commit") onCommit?.(context.eventId);
        else if (context.point === "before-handler") onHandlerStart?.(context.eventId);
      },
    },
  });
}
