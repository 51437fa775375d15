// What the client knows about the cluster: its brokers and, per topic, each partition's leader. Filled from Metadata
// responses; a topic's entry is dropped when a request to its leader says the leadership moved or the topic is gone,
// and refreshed when it is older than metadataMaxAgeMs, so routing never relies on stale knowledge for long.

import { ErrorCode } from "../../protocol/error-codes.js";
import type { MetadataResponse } from "../../protocol/messages/index.js";

export interface BrokerNode {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface PartitionMetadata {
  readonly partition: number;
  /** The leader's node id, or -1 while there is none. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offlineReplicas: readonly number[];
  /** 0, or LEADER_NOT_AVAILABLE and the like while the partition has no usable leader. */
  readonly errorCode: number;
}

export interface TopicMetadata {
  readonly name: string;
  /** The topic's id as 32 hex digits, or null when the broker does not report ids (Metadata < v10). */
  readonly topicId: string | null;
  readonly internal: boolean;
  /** Sorted by partition number. */
  readonly partitions: readonly PartitionMetadata[];
  /** When this entry was fetched, by the client's clock. */
  readonly fetchedAtMs: number;
}

/** The outcome for one topic a Metadata request asked about. */
export type TopicLookup = { kind: "found"; topic: TopicMetadata } | { kind: "error"; errorCode: number };

const ZERO_TOPIC_ID = "0".repeat(32);

export class ClusterMetadata {
  clusterId: string | null = null;
  controllerId = -1;
  readonly brokers = new Map<number, BrokerNode>();
  private readonly topics = new Map<string, TopicMetadata>();

  topic(name: string): TopicMetadata | undefined {
    return this.topics.get(name);
  }

  forget(name: string): void {
    this.topics.delete(name);
  }

  /** Folds a Metadata response in and returns what it said about each topic it names. */
  update(response: MetadataResponse, nowMs: number): Map<string, TopicLookup> {
    this.clusterId = response.clusterId ?? this.clusterId;
    this.controllerId = response.controllerId ?? -1;
    if (response.brokers.length > 0) {
      this.brokers.clear();
      for (const broker of response.brokers) {
        this.brokers.set(broker.nodeId, {
          nodeId: broker.nodeId,
          host: broker.host,
          port: broker.port,
          rack: broker.rack ?? null,
        });
      }
    }
    const lookups = new Map<string, TopicLookup>();
    for (const topic of response.topics) {
      if (topic.name === null) continue;
      if (topic.errorCode !== ErrorCode.NONE) {
        this.topics.delete(topic.name);
        lookups.set(topic.name, { kind: "error", errorCode: topic.errorCode });
        continue;
      }
      const topicId = topic.topicId === undefined ? null : topic.topicId.toString("hex");
      const metadata: TopicMetadata = {
        name: topic.name,
        topicId: topicId === ZERO_TOPIC_ID ? null : topicId,
        internal: topic.isInternal ?? false,
        partitions: topic.partitions
          .map((partition) => ({
            partition: partition.partitionIndex,
            leader: partition.leaderId,
            leaderEpoch: partition.leaderEpoch ?? -1,
            replicas: partition.replicaNodes,
            isr: partition.isrNodes,
            offlineReplicas: partition.offlineReplicas ?? [],
            errorCode: partition.errorCode,
          }))
          .sort((left, right) => left.partition - right.partition),
        fetchedAtMs: nowMs,
      };
      this.topics.set(topic.name, metadata);
      lookups.set(topic.name, { kind: "found", topic: metadata });
    }
    return lookups;
  }
}
