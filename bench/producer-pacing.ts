// How long a record waits in Sluice's producer before its batch is taken to be sent, with the accumulator's pacing
// and without it, when fsyncs are slow now and then. A simulation, so that the answer does not depend on how loaded
// the machine is: the real accumulator (src/kafka/client/produce/accumulator.ts) runs on a simulated clock against a
// model of the broker that appends a batch as it arrives and fsyncs with group commit (one fdatasync at a time; the
// batches appended while one runs wait for the next), with fdatasync times drawn from a log-normal distribution of
// the given median and p99. One send of one record every 0.2 ms (5,000 msgs/s, as in bench/e2e.ts's latency run).
// Run: npm run bench:pacing [-- --messages 20000 --seed 1]

import { createHistogram, type RecordableHistogram } from "node:perf_hooks";

import { RecordAccumulator, type Batch } from "../src/kafka/client/produce/accumulator.js";
import { PRODUCER_PARTITION_BATCHES_IN_FLIGHT_MAX } from "../src/kafka/client/produce/producer.js";
import { numberArgument, table } from "./common.js";

const args = process.argv.slice(2);
const MESSAGES = numberArgument(args, "--messages", 20_000);
const SEED = numberArgument(args, "--seed", 1);
const SEND_INTERVAL_MS = 0.2;
/** One way between the client and the broker. */
const NETWORK_MS = 0.1;
/** fdatasync median and p99 in ms: a quiet disk, a shared one, and one with a heavy tail. */
const DISKS: ReadonlyArray<[number, number]> = [
  [0.3, 3],
  [0.6, 9],
  [0.3, 8],
];
const Z_99 = 2.326;

/** A small deterministic generator (a linear congruential one), so that both runs see the same fsync times. */
function randomSource(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state + 0.5) / 2147483648;
  };
}

function logNormal(medianMs: number, p99Ms: number, random: () => number): () => number {
  const mu = Math.log(medianMs);
  const sigma = (Math.log(p99Ms) - mu) / Z_99;
  return () => Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random()));
}

/** Events in time order; equal times keep the order they were added in. */
class EventQueue {
  private readonly events: Array<{ atMs: number; order: number; run: () => void }> = [];
  private added = 0;
  nowMs = 0;

  at(atMs: number, run: () => void): void {
    this.events.push({ atMs, order: this.added++, run });
  }

  /** Runs the next event and lets the microtasks it queued run; false when none is left. */
  async step(): Promise<boolean> {
    if (this.events.length === 0) return false;
    let next = 0;
    for (let index = 1; index < this.events.length; index++) {
      const event = this.events[index]!;
      const best = this.events[next]!;
      if (event.atMs < best.atMs || (event.atMs === best.atMs && event.order < best.order)) next = index;
    }
    const [event] = this.events.splice(next, 1);
    this.nowMs = Math.max(this.nowMs, event!.atMs);
    event!.run();
    await new Promise((resolve) => setImmediate(resolve));
    return true;
  }
}

async function simulate(paced: boolean, medianMs: number, p99Ms: number): Promise<RecordableHistogram> {
  const queue = new EventQueue();
  const fsyncMs = logNormal(medianMs, p99Ms, randomSource(SEED));
  const waited = createHistogram();
  let appended = 0;
  let synced = 0;
  let syncing = false;
  let syncAgain = false;
  const waiting: Array<{ appended: number; answer: () => void }> = [];
  const startSync = (): void => {
    syncing = true;
    const covers = appended;
    queue.at(queue.nowMs + fsyncMs(), () => {
      synced = covers;
      syncing = false;
      for (const waiter of waiting.splice(0)) {
        if (waiter.appended <= synced) waiter.answer();
        else waiting.push(waiter);
      }
      if (syncAgain) {
        syncAgain = false;
        startSync();
      }
    });
  };
  const accumulator: RecordAccumulator = new RecordAccumulator(
    {
      batchRecordsMax: 10_000,
      batchBytesMax: 1_000_000,
      batchesInFlightMax: PRODUCER_PARTITION_BATCHES_IN_FLIGHT_MAX,
      paced,
    },
    (batches) => {
      for (const batch of batches) {
        const sentAtMs = queue.nowMs;
        for (const entry of batch.taken) waited.record(Math.max(1, Math.round((sentAtMs - entry.queuedAtMs) * 1000)));
        queue.at(sentAtMs + NETWORK_MS, () => {
          const position = ++appended;
          if (syncing) syncAgain = true;
          else startSync();
          waiting.push({
            appended: position,
            answer: () =>
              queue.at(queue.nowMs + NETWORK_MS, () => {
                accumulator.answered(queue.nowMs - sentAtMs);
                accumulator.release(batch as Batch);
              }),
          });
        });
      }
    },
    { now: () => queue.nowMs, setTimer: (callback, delayMs) => queue.at(queue.nowMs + Math.max(1, delayMs), callback) },
  );
  for (let index = 0; index < MESSAGES; index++) {
    queue.at(index * SEND_INTERVAL_MS, () =>
      accumulator.add("t", 0, {
        records: [{ value: "x" }],
        bytes: 100,
        resolve: () => undefined,
        reject: () => undefined,
      }),
    );
  }
  while (await queue.step());
  return waited;
}

const spread = (histogram: RecordableHistogram): string =>
  [50, 99, 99.9]
    .map((percentile) => (histogram.percentile(percentile) / 1000).toFixed(2))
    .concat((histogram.max / 1000).toFixed(2))
    .join(" / ");

const rows: string[][] = [];
for (const [medianMs, p99Ms] of DISKS) {
  for (const paced of [false, true]) {
    rows.push([
      `${medianMs} / ${p99Ms}`,
      paced ? "paced" : "a batch whenever a slot is free",
      spread(await simulate(paced, medianMs, p99Ms)),
    ]);
  }
}
console.log(
  `\nnpm run bench:pacing${args.length ? ` -- ${args.join(" ")}` : ""}  (simulated: ${MESSAGES} sends of one record, ` +
    `one every ${SEND_INTERVAL_MS} ms, ${PRODUCER_PARTITION_BATCHES_IN_FLIGHT_MAX} batches out at most, group commit)\n`,
);
console.log(table(["fdatasync median / p99 ms", "producer", "send → batch taken p50 / p99 / p999 / max ms"], rows));
