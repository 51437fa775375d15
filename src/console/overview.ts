// The overview's history: a sampler that asks the cluster every few seconds for every partition's high watermark
// and every group's committed offsets, and keeps rates and lag in a bounded ring. Sampling on the server means every
// open page shows the same history, and the cluster is asked once per interval however many pages are open. While
// nothing moves in the cluster and nobody looks at the overview, the samples come further apart (up to once a
// minute), so an idle process sleeps; a look at the overview or any movement brings them back to every few seconds.
// Rates are per second over the time between samples, so a longer gap shows the same rates, averaged.

import type { SluiceKafkaClient, OffsetQuery } from "../kafka/client/index.js";
import { IdleBackoffTimer } from "../platform/idle-backoff.js";
import type { ConsoleLogger } from "./logger.js";

export const DEFAULT_SAMPLE_INTERVAL_MS = 5_000;
/** The longest gap between samples while the cluster is still and nobody looks at the overview. */
export const DEFAULT_IDLE_SAMPLE_INTERVAL_MAX_MS = 60_000;
/** Thirty minutes at the default interval. */
export const DEFAULT_SAMPLES_MAX = 360;
/** Groups whose committed offsets are read each sample; past this, lag covers the first ones by name. */
export const SAMPLED_GROUPS_MAX = 200;

export interface OverviewSample {
  /** Milliseconds since the epoch. */
  readonly time: number;
  /** Records appended per second over the interval before this sample, all topics together. */
  readonly messagesInPerSecond: number;
  /** Committed offsets advanced per second over the interval, all groups together. */
  readonly messagesOutPerSecond: number;
  /** High watermark minus committed offset, summed over every group's committed partitions. */
  readonly totalLag: number;
  /** Each sampled group's lag. */
  readonly groupLag: Readonly<Record<string, number>>;
}

export interface SamplerOptions {
  readonly intervalMs?: number;
  readonly idleIntervalMaxMs?: number;
  readonly samplesMax?: number;
}

interface Totals {
  readonly time: number;
  readonly appended: number;
  readonly committed: number;
}

export class OverviewSampler {
  readonly intervalMs: number;
  private readonly samplesMax: number;
  private readonly ring: OverviewSample[] = [];
  private previous: Totals | null = null;
  private readonly timer: IdleBackoffTimer;
  private started = false;
  private running: Promise<boolean> | null = null;
  /** The last sampling failure's message, shown on the overview; null after a good sample. */
  lastError: string | null = null;

  constructor(
    private readonly kafka: SluiceKafkaClient,
    private readonly logger: ConsoleLogger,
    options: SamplerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    this.samplesMax = options.samplesMax ?? DEFAULT_SAMPLES_MAX;
    const idleIntervalMaxMs = options.idleIntervalMaxMs ?? DEFAULT_IDLE_SAMPLE_INTERVAL_MAX_MS;
    this.timer = new IdleBackoffTimer(this.intervalMs, idleIntervalMaxMs, () => {
      this.running = this.sample().finally(() => (this.running = null));
      return this.running;
    });
  }

  /** The wait before the next sample: the interval, or longer while the cluster is still and nobody looks. */
  get nextSampleInMs(): number {
    return this.timer.delayMs;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.timer.start(0);
  }

  /** Someone looks at the overview: samples come every intervalMs again. */
  noteViewed(): void {
    this.timer.noteActivity();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.timer.stop();
    await this.running;
  }

  samples(): readonly OverviewSample[] {
    return this.ring;
  }

  /** Takes one sample now (the timer calls this; tests may too); true when the cluster moved since the last one. */
  async sample(): Promise<boolean> {
    try {
      const totals = await this.readTotals();
      const previous = this.previous;
      this.previous = totals;
      this.lastError = null;
      if (previous === null) return true;
      const seconds = Math.max((totals.time - previous.time) / 1000, 0.001);
      this.ring.push({
        time: totals.time,
        messagesInPerSecond: Math.max(0, (totals.appended - previous.appended) / seconds),
        messagesOutPerSecond: Math.max(0, (totals.committed - previous.committed) / seconds),
        totalLag: this.lastLag,
        groupLag: this.lastGroupLag,
      });
      if (this.ring.length > this.samplesMax) this.ring.shift();
      return totals.appended !== previous.appended || totals.committed !== previous.committed;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.logger.warn({ err: error }, "console: could not sample the cluster");
      return false;
    }
  }

  private lastLag = 0;
  private lastGroupLag: Record<string, number> = {};

  private async readTotals(): Promise<Totals> {
    const time = Date.now();
    const topics = await this.kafka.admin.listTopics({ includeInternal: false });
    const queries: OffsetQuery[] = [];
    for (const topic of topics) {
      for (let partition = 0; partition < topic.partitionCount; partition++) {
        queries.push({ topic: topic.name, partition, spec: "latest" });
      }
    }
    const answers = queries.length === 0 ? [] : await this.kafka.admin.listOffsets(queries);
    const highWatermarks = new Map<string, number>();
    let appended = 0;
    for (const answer of answers) {
      highWatermarks.set(`${answer.topic}:${answer.partition}`, answer.offset);
      appended += Math.max(0, answer.offset);
    }
    const groups = (await this.kafka.admin.listGroups())
      .map((group) => group.groupId)
      .sort()
      .slice(0, SAMPLED_GROUPS_MAX);
    let committed = 0;
    let lag = 0;
    const groupLag: Record<string, number> = {};
    for (const groupId of groups) {
      let ofGroup = 0;
      for (const offset of await this.kafka.admin.fetchGroupOffsets(groupId)) {
        if (offset.offset < 0) continue;
        committed += offset.offset;
        const end = highWatermarks.get(`${offset.topic}:${offset.partition}`);
        if (end !== undefined) ofGroup += Math.max(0, end - offset.offset);
      }
      groupLag[groupId] = ofGroup;
      lag += ofGroup;
    }
    this.lastLag = lag;
    this.lastGroupLag = groupLag;
    return { time, appended, committed };
  }
}
