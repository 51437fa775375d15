// Sluice's own Kafka client: what other parts of Sluice (the toolkit's Kafka seam, the console, the CLI) import.
// Layers, from the bottom: the protocol codec (kafka/protocol), network/ (connections, negotiation, SASL), apis/
// (the APIs and versions spoken), cluster/ (metadata, routing, retries), then admin/, fetch/ and produce/.

export { SluiceKafkaClient } from "./client.js";
export { KafkaAdmin, type ClusterDescription, type TopicOffsets } from "./admin/admin.js";
export * from "./admin/configs.js";
export * from "./admin/groups.js";
export * from "./admin/log-dirs.js";
export * from "./admin/offsets.js";
export * from "./admin/topics.js";
export { KafkaCluster, type Lane } from "./cluster/cluster.js";
export type { BrokerNode, PartitionMetadata, TopicMetadata } from "./cluster/metadata.js";
export * from "./errors.js";
export * from "./fetch/fetch.js";
export * from "./fetch/partition-reader.js";
export type { FetchedRecord } from "./fetch/records.js";
export * from "./group/assignors.js";
export { GENERATION_ENDED_CODES, isGenerationEnded } from "./group/commit.js";
export { GroupConsumer, type GroupAssignment, type GroupBatch, type GroupConsumerRun } from "./group/group-consumer.js";
export * from "./group/options.js";
export { SASL_MECHANISMS, type SaslMechanism, type SaslOptions } from "./network/sasl.js";
export * from "./options.js";
export * from "./produce/produce.js";
export * from "./produce/partitioner.js";
export { PRODUCER_BATCH_TAKEN_CHANNEL, PRODUCER_PACING_MS_MAX, type BatchTakenMessage } from "./produce/accumulator.js";
export {
  Producer,
  PRODUCER_BATCH_BYTES_MAX,
  PRODUCER_BATCH_RECORDS_MAX,
  PRODUCER_PARTITION_BATCHES_IN_FLIGHT_MAX,
  PRODUCER_QUEUED_RECORDS_MAX,
  type OutgoingRecord,
  type PartitionAck,
  type ProducerOptions,
} from "./produce/producer.js";
