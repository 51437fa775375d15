// The live end of one topic, read once per gateway and fanned out to every subscriber: each event is turned into
// its message text once, kept among the topic's recent events (for resumes) and offered to each subscription.

import { setTimeout as sleep } from "node:timers/promises";

import type { KafkaAdmin } from "../../toolkit/kafka/admin.js";
import type { KafkaClient } from "../../toolkit/kafka/connection.js";
import type { ToolkitLogger } from "../../toolkit/logger.js";
import { toEventFrame } from "./event-frame.js";
import type { WebSocketMetrics } from "./metrics.js";
import { RecentEvents, type RecentEventsLimits } from "./recent-events.js";
import type { Subscription } from "./subscription.js";
import { createTopicReader, type TopicReader } from "./topic-reader.js";

/** Wait before starting a failed reader again; kafkajs retries within a start on its own first. */
export const TAIL_RESTART_DELAY_MS = 1_000;

export interface TopicTailOptions {
  kafka: KafkaClient;
  admin: KafkaAdmin;
  topic: string;
  recentLimits: RecentEventsLimits;
  fetchWaitMs: number;
  partitionFetchBytesMax: number;
  /** How long the tail stays open without subscribers before onIdle is called. */
  idleMs: number;
  onIdle(tail: TopicTail): void;
  metrics: WebSocketMetrics;
  logger: ToolkitLogger;
}

export class TopicTail {
  readonly topic: string;
  readonly recent: RecentEvents;
  private readonly subscribers = new Set<Subscription>();
  private reader: TopicReader | null = null;
  private running: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly closing = new AbortController();

  /**
   * Reads where the topic ends now and starts reading from there in the background: every event from that point
   * on reaches the subscribers. Throws the toolkit's UnknownTopicError for a topic that does not exist.
   */
  static async open(options: TopicTailOptions): Promise<TopicTail> {
    const ends = await options.admin.topicOffsets(options.topic);
    const tail = new TopicTail(options);
    for (const { partition, high } of ends) tail.recent.startPartition(partition, Number(high));
    tail.running = tail.run();
    tail.startIdleTimer();
    return tail;
  }

  private constructor(private readonly options: TopicTailOptions) {
    this.topic = options.topic;
    this.recent = new RecentEvents(options.recentLimits);
  }

  /** True once closed; a closed tail delivers nothing, so a subscriber that got one asks for the topic again. */
  get isClosed(): boolean {
    return this.closing.signal.aborted;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  attach(subscription: Subscription): void {
    this.subscribers.add(subscription);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  detach(subscription: Subscription): void {
    this.subscribers.delete(subscription);
    if (this.subscribers.size === 0) this.startIdleTimer();
  }

  async close(): Promise<void> {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.closing.abort();
    await this.reader?.stop();
    await this.running;
  }

  private startIdleTimer(): void {
    if (this.closing.signal.aborted || this.idleTimer !== null) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.subscribers.size === 0) this.options.onIdle(this);
    }, this.options.idleMs);
    this.idleTimer.unref();
  }

  private async run(): Promise<void> {
    const { topic, logger } = this.options;
    while (!this.closing.signal.aborted) {
      const reader = createTopicReader({
        kafka: this.options.kafka,
        topic,
        startOffset: (partition) => {
          // A partition the topic gained after the tail opened is read from its start.
          this.recent.startPartition(partition, 0);
          return this.recent.coveredTo(partition) ?? 0;
        },
        onRecords: (_partition, records) => {
          const frames = records.map(toEventFrame).filter((frame) => this.recent.append(frame));
          if (frames.length === 0) return;
          let sent = 0;
          for (const subscription of this.subscribers) sent += subscription.deliverLive(frames);
          if (sent > 0) this.options.metrics.eventsSent.inc({ topic }, sent);
        },
        fromEarliestWhenOutOfRange: false,
        fetchWaitMs: this.options.fetchWaitMs,
        partitionFetchBytesMax: this.options.partitionFetchBytesMax,
        logger,
      });
      this.reader = reader;
      try {
        await reader.start();
        return;
      } catch (error) {
        logger.warn({ err: error, topic }, "the WebSocket gateway could not start reading a topic; retrying");
        await reader.stop();
        await sleep(TAIL_RESTART_DELAY_MS, undefined, { signal: this.closing.signal }).catch(() => undefined);
      }
    }
  }
}
