// Kills the broker with SIGKILL while transactional producers commit and abort transactions across two partitions,
// at a seeded moment, and proves after a restart on the same data dir that no transaction is half visible to a
// read_committed reader: each one shows all of its records or none, every acknowledged commit shows, no abort does,
// the broker's aborted-transaction lists agree with the markers in the logs, and nothing is left open (a new
// transaction commits and every partition's last stable offset is its log end).
// Replay a run with SLUICE_CRASH_SEED=<seed> (printed on failure).

import assert from "node:assert/strict";
import { test } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import pino from "pino";
import { startBroker } from "../../src/broker/index.js";
import {
  decodeRecordBatch,
  isControlBatch,
  isTransactional,
  iterateBatches,
} from "../../src/kafka/protocol/record-batch.js";
import { startBrokerProcess } from "../helpers/broker-process.js";
import { temporaryDir } from "../helpers/environment.js";

const RECORDS_PER_PARTITION = 5;
const PARTITIONS = 2;
const RECORDS_PER_TRANSACTION = RECORDS_PER_PARTITION * PARTITIONS;
const MIN_COMMITS_BEFORE_KILL = 6;
const WRITE_PHASE_TIMEOUT_MS = 60_000;

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RecoveredPartition {
  /** What the markers in the log make visible, producer by producer: the ground truth. */
  byMarkers: string[];
  /** What a read_committed reader sees using the broker's aborted-transaction list, as Kafka's consumer reads it. */
  byAbortedList: string[];
  logEndOffset: number;
  lastStableOffset: number;
}

/** Opens the data dir in this process (the child broker has exited) and reads each partition's log whole. */
async function inspect(dataDir: string, topic: string): Promise<RecoveredPartition[]> {
  const running = await startBroker({ dataDir, port: 0, logger: pino({ level: "silent" }) });
  try {
    return running.broker.topics.get(topic)!.partitions.map((partition) => {
      const { log, txns } = partition;
      const byMarkers: string[] = [];
      const byAbortedList: string[] = [];
      const pending = new Map<number, string[]>();
      const aborted = txns.abortedBetween(0, log.logEndOffset).sort((a, b) => a.firstOffset - b.firstOffset);
      const abortedProducers = new Set<number>();
      let offset = log.logStartOffset;
      while (offset < log.logEndOffset) {
        for (const { bytes } of iterateBatches(log.read(offset, 1024 * 1024).records)) {
          const { header, records } = decodeRecordBatch(bytes);
          offset = header.baseOffset + header.lastOffsetDelta + 1;
          while (aborted.length > 0 && aborted[0]!.firstOffset <= offset - 1) {
            abortedProducers.add(aborted.shift()!.producerId);
          }
          if (isControlBatch(header)) {
            const committed = records[0]!.key!.readInt16BE(2) === 1;
            if (committed) byMarkers.push(...(pending.get(header.producerId) ?? []));
            else abortedProducers.delete(header.producerId);
            pending.delete(header.producerId);
            continue;
          }
          const values = records.map((record) => record.value!.toString());
          if (!isTransactional(header)) byMarkers.push(...values);
          else pending.set(header.producerId, [...(pending.get(header.producerId) ?? []), ...values]);
          if (!(isTransactional(header) && abortedProducers.has(header.producerId))) byAbortedList.push(...values);
        }
      }
      return {
        byMarkers,
        byAbortedList,
        logEndOffset: log.logEndOffset,
        lastStableOffset: txns.lastStableOffset(log.logEndOffset),
      };
    });
  } finally {
    await running.close();
  }
}

function countByTransaction(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) {
    const id = value.split(":")[0]!;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

test("a transaction open or completing at a SIGKILL is never half visible after restart", async (t) => {
  const seed = Number(process.env.SLUICE_CRASH_SEED ?? Date.now() % 1_000_000);
  const next = random(seed);
  const context = `seed ${seed} (replay with SLUICE_CRASH_SEED=${seed})`;
  const dataDir = temporaryDir(t);
  const first = await startBrokerProcess(dataDir);
  t.after(() => first.child.kill("SIGKILL"));
  const retry = { retries: 1, initialRetryTime: 50, maxRetryTime: 100 };
  const kafka = new Kafka({ brokers: [first.address], logLevel: logLevel.NOTHING, retry });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "ledger", numPartitions: PARTITIONS }] });
  await admin.disconnect();

  const committed = new Set<string>();
  const aborted = new Set<string>();
  let stop = false;
  const writers = ["a", "b"].map(async (writer) => {
    const producer = kafka.producer({ transactionalId: `crash-${writer}`, maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    for (let n = 0; !stop; n++) {
      const id = `${writer}${n}`;
      const commit = next() < 0.7;
      try {
        const transaction = await producer.transaction();
        for (let partition = 0; partition < PARTITIONS; partition++) {
          await transaction.send({
            topic: "ledger",
            messages: Array.from({ length: RECORDS_PER_PARTITION }, (_, i) => ({ partition, value: `${id}:${i}` })),
          });
        }
        if (commit) await transaction.commit();
        else await transaction.abort();
        (commit ? committed : aborted).add(id);
      } catch {
        break;
      }
    }
    await producer.disconnect().catch(() => undefined);
  });
  // A steady stream of transactions, then the plug is pulled at a seeded moment: after a seeded number of commits
  // (counted, not timed, so a slow machine still gets a history worth checking) and a seeded few milliseconds more,
  // so that the kill lands anywhere inside the next transactions.
  const commitsBeforeKill = MIN_COMMITS_BEFORE_KILL + Math.floor(next() * 40);
  const deadline = Date.now() + WRITE_PHASE_TIMEOUT_MS;
  while (committed.size < commitsBeforeKill && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await new Promise((resolve) => setTimeout(resolve, Math.floor(next() * 40)));
  first.child.kill("SIGKILL");
  stop = true;
  await Promise.all(writers);
  assert.ok(
    committed.size >= MIN_COMMITS_BEFORE_KILL,
    `only ${committed.size} transactions committed in ${WRITE_PHASE_TIMEOUT_MS} ms before the kill; ${context}`,
  );

  const second = await startBrokerProcess(dataDir);
  t.after(() => second.child.kill("SIGKILL"));
  // Nothing is left open: a new transaction on both partitions commits.
  const reader = new Kafka({ brokers: [second.address], logLevel: logLevel.NOTHING, retry });
  const after = reader.producer({ transactionalId: "crash-a", maxInFlightRequests: 1, idempotent: true });
  await after.connect();
  const transaction = await after.transaction();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    await transaction.send({ topic: "ledger", messages: [{ partition, value: `after:${partition}` }] });
  }
  await transaction.commit();
  await after.disconnect();
  const exited = new Promise((resolve) => second.child.once("exit", resolve));
  second.child.kill("SIGTERM");
  await exited;

  const partitions = await inspect(dataDir, "ledger");
  for (const [index, partition] of partitions.entries()) {
    assert.equal(
      partition.lastStableOffset,
      partition.logEndOffset,
      `partition ${index} has a transaction open; ${context}`,
    );
    // byMarkers lists a transaction's records when its marker comes (commit order), a reader in log order; two
    // producers' transactions interleave, so the two agree as sets of records, not as sequences.
    assert.deepEqual(
      [...partition.byAbortedList].sort(),
      [...partition.byMarkers].sort(),
      `partition ${index}'s aborted list is wrong; ${context}`,
    );
  }
  const visible = countByTransaction(partitions.flatMap((partition) => partition.byMarkers));
  assert.equal(visible.get("after"), PARTITIONS, `the transaction after the restart is not visible; ${context}`);
  visible.delete("after");
  for (const [id, count] of visible) {
    assert.equal(count, RECORDS_PER_TRANSACTION, `transaction ${id} shows ${count} records, half visible; ${context}`);
    assert.ok(!aborted.has(id), `aborted transaction ${id} is visible; ${context}`);
  }
  for (const id of committed) assert.ok(visible.has(id), `committed transaction ${id} was lost; ${context}`);
});
