// Prometheus metrics of the consuming side, in the toolkit's shared registry: what consumers processed, skipped,
// failed, retried and dead-lettered, how long handlers took, and how far each group lags behind its partitions.

import type { KafkaAdmin } from "./kafka/admin.js";
import { toolkitCounter, toolkitGauge, toolkitHistogram } from "./metrics.js";

/** Seconds, from a handler that writes one row (a millisecond) to one that calls a slow service. */
const HANDLER_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function consumerMetrics() {
  return {
    consumed: toolkitCounter({
      name: "sluice_events_consumed_total",
      help: "Events whose handler ran and committed, by original topic and consumer group",
      labelNames: ["topic", "group"] as const,
    }),
    skipped: toolkitCounter({
      name: "sluice_events_skipped_total",
      help: "Redelivered events the inbox recognised as processed already, and skipped",
      labelNames: ["topic", "group"] as const,
    }),
    failed: toolkitCounter({
      name: "sluice_events_failed_total",
      help: "Handler attempts that threw (each attempt of a retried event counts)",
      labelNames: ["topic", "group"] as const,
    }),
    retried: toolkitCounter({
      name: "sluice_events_retried_total",
      help: "Failed events sent to a retry topic for another attempt",
      labelNames: ["topic", "group"] as const,
    }),
    deadLettered: toolkitCounter({
      name: "sluice_events_dead_lettered_total",
      help: "Events sent to the dead-letter topic, by the error code of the reason",
      labelNames: ["topic", "group", "code"] as const,
    }),
    handlerDuration: toolkitHistogram({
      name: "sluice_handler_duration_seconds",
      help: "Time from opening an event's transaction to its commit or rollback, by outcome (ok, error)",
      labelNames: ["topic", "group", "outcome"] as const,
      buckets: HANDLER_BUCKETS_SECONDS,
    }),
    lag: toolkitGauge({
      name: "sluice_consumer_lag",
      help: "Records between a consumer group's committed offset and the partition's end (high watermark)",
      labelNames: ["topic", "group", "partition"] as const,
    }),
    inboxCleaned: toolkitCounter({
      name: "sluice_inbox_cleaned_events_total",
      help: "Inbox records deleted after the deduplication window",
      labelNames: ["group"] as const,
    }),
  };
}

export type ConsumerMetrics = ReturnType<typeof consumerMetrics>;

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

/**
 * The group's lag on every partition of the topics: the high watermark minus the committed offset, or minus the
 * earliest stored offset when the group has committed nothing there yet.
 */
export async function fetchConsumerLag(
  admin: KafkaAdmin,
  groupId: string,
  topics: readonly string[],
): Promise<PartitionLag[]> {
  if (admin.consumerLag !== undefined) return admin.consumerLag(groupId, topics);
  const lags: PartitionLag[] = [];
  for (const topic of topics) {
    const ends = await admin.topicOffsets(topic);
    const committed = new Map((await admin.groupOffsets(groupId, topic)).map((entry) => [entry.partition, entry]));
    for (const end of ends) {
      const offset = committed.get(end.partition)?.offset ?? "-1";
      const from = BigInt(offset) < 0n ? BigInt(end.low) : BigInt(offset);
      const lag = BigInt(end.high) - from;
      lags.push({ topic, partition: end.partition, lag: Number(lag < 0n ? 0n : lag) });
    }
  }
  return lags;
}

/** Refreshes the lag gauge of a group from the broker's offsets. */
export async function refreshConsumerLag(
  metrics: ConsumerMetrics,
  admin: KafkaAdmin,
  groupId: string,
  topics: readonly string[],
): Promise<PartitionLag[]> {
  const lags = await fetchConsumerLag(admin, groupId, topics);
  for (const entry of lags) {
    metrics.lag.set({ topic: entry.topic, group: groupId, partition: String(entry.partition) }, entry.lag);
  }
  return lags;
}
