// The admin operations of Sluice's Kafka client behind one object, over the client's cluster connections. Each
// method is one of the operations in this folder; describeCluster is here because it is small.

import { Api } from "../apis/definitions.js";
import type { KafkaCluster } from "../cluster/cluster.js";
import type { BrokerNode, TopicMetadata } from "../cluster/metadata.js";
import { checkErrorCode } from "../errors.js";
import {
  alterConfigs,
  describeConfigs,
  incrementalAlterConfigs,
  type ConfigChange,
  type ConfigResource,
  type ConfigResourceResult,
  type ResourceConfigs,
} from "./configs.js";
import {
  commitGroupOffsets,
  deleteGroupOffsets,
  deleteGroups,
  describeGroups,
  fetchGroupOffsets,
  listGroups,
  type CommittedOffset,
  type GroupDescription,
  type GroupResult,
  type ListedGroup,
  type OffsetToCommit,
  type TopicPartitionsFilter,
} from "./groups.js";
import { describeLogDirs, type ReplicaLogSize } from "./log-dirs.js";
import {
  deleteRecords,
  listOffsets,
  type DeleteRecordsAnswer,
  type DeleteRecordsRequestItem,
  type IsolationLevel,
  type OffsetAnswer,
  type OffsetQuery,
  type TopicPartition,
} from "./offsets.js";
import {
  createPartitions,
  createTopics,
  deleteTopics,
  describeTopics,
  listTopics,
  type CreatedTopic,
  type NewTopic,
  type PartitionIncrease,
  type TopicListing,
  type TopicOperationOptions,
  type TopicResult,
} from "./topics.js";

export interface ClusterDescription {
  readonly clusterId: string | null;
  /** The controller's node id, or -1 when the cluster does not say. */
  readonly controllerId: number;
  readonly brokers: readonly BrokerNode[];
}

export interface TopicOffsets {
  readonly partition: number;
  /** The log start offset. */
  readonly earliest: number;
  /** The high watermark: the offset the next record will get. */
  readonly latest: number;
}

export class KafkaAdmin {
  constructor(private readonly cluster: KafkaCluster) {}

  listTopics(options: { includeInternal?: boolean } = {}): Promise<TopicListing[]> {
    return listTopics(this.cluster, options);
  }

  describeTopics(names: readonly string[]): Promise<TopicMetadata[]> {
    return describeTopics(this.cluster, names);
  }

  createTopics(topics: readonly NewTopic[], options?: TopicOperationOptions): Promise<CreatedTopic[]> {
    return createTopics(this.cluster, topics, options);
  }

  deleteTopics(names: readonly string[], options?: TopicOperationOptions): Promise<TopicResult[]> {
    return deleteTopics(this.cluster, names, options);
  }

  createPartitions(increases: readonly PartitionIncrease[], options?: TopicOperationOptions): Promise<TopicResult[]> {
    return createPartitions(this.cluster, increases, options);
  }

  describeConfigs(
    resources: ReadonlyArray<ConfigResource & { readonly keys?: readonly string[] }>,
    options?: { includeSynonyms?: boolean; includeDocumentation?: boolean },
  ): Promise<ResourceConfigs[]> {
    return describeConfigs(this.cluster, resources, options);
  }

  alterConfigs(
    resources: ReadonlyArray<ConfigResource & { readonly configs: Readonly<Record<string, string>> }>,
    options?: { validateOnly?: boolean },
  ): Promise<ConfigResourceResult[]> {
    return alterConfigs(this.cluster, resources, options);
  }

  incrementalAlterConfigs(
    resources: ReadonlyArray<ConfigResource & { readonly changes: readonly ConfigChange[] }>,
    options?: { validateOnly?: boolean },
  ): Promise<ConfigResourceResult[]> {
    return incrementalAlterConfigs(this.cluster, resources, options);
  }

  listOffsets(queries: readonly OffsetQuery[], options?: { isolationLevel?: IsolationLevel }): Promise<OffsetAnswer[]> {
    return listOffsets(this.cluster, queries, options);
  }

  /** The earliest and latest offset of every partition of a topic, by partition. */
  async topicOffsets(topic: string): Promise<TopicOffsets[]> {
    const { partitions } = await this.cluster.topic(topic, { refresh: true });
    const queries = partitions.flatMap(({ partition }) => [
      { topic, partition, spec: "earliest" as const },
      { topic, partition, spec: "latest" as const },
    ]);
    const answers = await listOffsets(this.cluster, queries);
    return partitions.map(({ partition }, index) => ({
      partition,
      earliest: answers[2 * index]!.offset,
      latest: answers[2 * index + 1]!.offset,
    }));
  }

  deleteRecords(
    items: readonly DeleteRecordsRequestItem[],
    options?: { timeoutMs?: number },
  ): Promise<DeleteRecordsAnswer[]> {
    return deleteRecords(this.cluster, items, options);
  }

  /** The cluster's id, controller and brokers (DescribeCluster when the broker has it, else Metadata). */
  describeCluster(): Promise<ClusterDescription> {
    return this.cluster.retry(async () => {
      const connection = await this.cluster.anyConnection("admin");
      if (connection.versions?.supports(Api.DescribeCluster) !== true) {
        await this.cluster.refreshMetadata([]);
        const { clusterId, controllerId, brokers } = this.cluster.metadata;
        return { clusterId, controllerId, brokers: [...brokers.values()].sort((a, b) => a.nodeId - b.nodeId) };
      }
      const response = await connection.request(Api.DescribeCluster, {
        includeClusterAuthorizedOperations: false,
        endpointType: 1,
      });
      checkErrorCode(response.errorCode, "DescribeCluster", response.errorMessage ?? null);
      return {
        clusterId: response.clusterId,
        controllerId: response.controllerId ?? -1,
        brokers: response.brokers
          .map((broker) => ({
            nodeId: broker.brokerId,
            host: broker.host,
            port: broker.port,
            rack: broker.rack ?? null,
          }))
          .sort((a, b) => a.nodeId - b.nodeId),
      };
    });
  }

  /** The log size of every replica of the given topics' partitions (every topic when null), from every broker. */
  describeLogDirs(
    topics: ReadonlyArray<{ readonly topic: string; readonly partitions: readonly number[] }> | null = null,
  ): Promise<ReplicaLogSize[]> {
    return describeLogDirs(this.cluster, topics);
  }

  listGroups(options?: { states?: readonly string[]; types?: readonly string[] }): Promise<ListedGroup[]> {
    return listGroups(this.cluster, options);
  }

  describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    return describeGroups(this.cluster, groupIds);
  }

  deleteGroups(groupIds: readonly string[]): Promise<GroupResult[]> {
    return deleteGroups(this.cluster, groupIds);
  }

  fetchGroupOffsets(groupId: string, topics?: readonly TopicPartitionsFilter[] | null): Promise<CommittedOffset[]> {
    return fetchGroupOffsets(this.cluster, groupId, topics ?? null);
  }

  commitGroupOffsets(groupId: string, offsets: readonly OffsetToCommit[]): Promise<void> {
    return commitGroupOffsets(this.cluster, groupId, offsets);
  }

  deleteGroupOffsets(groupId: string, partitions: readonly TopicPartition[]): Promise<void> {
    return deleteGroupOffsets(this.cluster, groupId, partitions);
  }
}
