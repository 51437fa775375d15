// Sluice's own Kafka client, built on the same protocol codec as the broker: admin operations, reading partitions
// from any offset or time without a consumer group, and producing. One client holds one set of connections (a few
// lanes per broker) and one metadata cache, shared by everything made from it.

import { KafkaAdmin } from "./admin/admin.js";
import { KafkaCluster } from "./cluster/cluster.js";
import {
  fetchPartitionBytes,
  fetchPartitions,
  type FetchedPartition,
  type FetchedPartitionBytes,
  type FetchLimits,
  type PartitionPosition,
} from "./fetch/fetch.js";
import { PartitionReader, type PartitionReaderOptions } from "./fetch/partition-reader.js";
import { GroupConsumer } from "./group/group-consumer.js";
import type { GroupConsumerOptions } from "./group/options.js";
import type { KafkaClientOptions } from "./options.js";
import { produce, type ProduceRequest, type ProduceResult } from "./produce/produce.js";
import { Producer, type ProducerOptions } from "./produce/producer.js";

export class SluiceKafkaClient {
  readonly cluster: KafkaCluster;
  readonly admin: KafkaAdmin;

  constructor(options: KafkaClientOptions) {
    this.cluster = new KafkaCluster(options);
    this.admin = new KafkaAdmin(this.cluster);
  }

  get closed(): boolean {
    return this.cluster.closed;
  }

  /** Produces one batch to one partition; resolves with its base offset once acknowledged as asked. */
  produce(request: ProduceRequest): Promise<ProduceResult> {
    return produce(this.cluster, request);
  }

  /** A batching producer, idempotent unless told otherwise; see produce/producer.ts. */
  producer(options?: ProducerOptions): Producer {
    return new Producer(this.cluster, options);
  }

  /** One fetch from each partition at its offset (no consumer group). */
  fetch(positions: readonly PartitionPosition[], limits?: FetchLimits): Promise<FetchedPartition[]> {
    return fetchPartitions(this.cluster, positions, limits);
  }

  /** One fetch from each partition at its offset, the record batches left undecoded for the caller to walk. */
  fetchBytes(positions: readonly PartitionPosition[], limits?: FetchLimits): Promise<FetchedPartitionBytes[]> {
    return fetchPartitionBytes(this.cluster, positions, limits);
  }

  /** A reader that follows partitions from where each starts (no consumer group). */
  reader(options?: PartitionReaderOptions): PartitionReader {
    return new PartitionReader(this.cluster, options);
  }

  /** A member of a consumer group, on connections of its own; see group/group-consumer.ts. */
  groupConsumer(options: GroupConsumerOptions): GroupConsumer {
    return new GroupConsumer(this.cluster, options);
  }

  /** Closes every connection; pending requests fail with SLUICE_KAFKA_CLIENT_CLOSED. */
  close(): Promise<void> {
    return this.cluster.close();
  }
}
