// The toolkit's consumer interface over Sluice's own client (src/kafka/client/group): the same contract as the kafkajs
// one in consumer.ts. Each consumer has a client (and connections) of its own, made at start and closed by stop().

import { FETCH_MAX_WAIT_MS_MAX, type GroupConsumer, type SluiceKafkaClient } from "../../kafka/client/index.js";
import { ToolkitError, ToolkitErrorCode } from "../errors.js";
import {
  resolveConcurrency,
  resolveConsumerSettings,
  type GroupAssignment,
  type KafkaConsumer,
  type KafkaConsumerOptions,
} from "./consumer.js";
import { fromFetchedRecord, type NativeSource } from "./reader.js";

export function createNativeConsumer(source: NativeSource, options: KafkaConsumerOptions): KafkaConsumer {
  const settings = resolveConsumerSettings(options);
  const joinListeners: Array<(assignment: GroupAssignment) => void> = [];
  const crashListeners: Array<(error: Error, restarting: boolean) => void> = [];
  let client: SluiceKafkaClient | null = null;
  let consumer: GroupConsumer | null = null;
  let stopping: Promise<void> | null = null;

  return {
    groupId: options.groupId,

    async start({ topics, fromBeginning, concurrency, eachBatch }) {
      if (client !== null) {
        throw new ToolkitError(ToolkitErrorCode.CONSUMER_ALREADY_STARTED, "this consumer was started already");
      }
      client = source.native();
      consumer = client.groupConsumer({
        groupId: options.groupId,
        topics,
        sessionTimeoutMs: settings.sessionTimeoutMs,
        heartbeatIntervalMs: Math.min(settings.heartbeatIntervalMs, settings.sessionTimeoutMs - 1),
        rebalanceTimeoutMs: settings.rebalanceTimeoutMs,
        resetTo: fromBeginning ? "earliest" : "latest",
        concurrency: resolveConcurrency(concurrency),
        maxWaitMs: Math.min(settings.fetchWaitMs, FETCH_MAX_WAIT_MS_MAX),
        partitionMaxBytes: settings.partitionFetchBytesMax,
        maxBytes: settings.fetchBytesMax,
      });
      await consumer.start({
        eachBatch: (batch) =>
          eachBatch({
            topic: batch.topic,
            partition: batch.partition,
            records: batch.records.map(fromFetchedRecord),
            active: () => stopping === null && batch.active(),
            markDone: (offset) => batch.markDone(Number(offset)),
            commit: (nextOffset) => batch.commit(Number(nextOffset)),
            commitsQueued: true,
            heartbeat: () => batch.heartbeat(),
          }),
        onAssigned: (assignment) => {
          const partitions: Record<string, number[]> = {};
          for (const { topic, partition } of assignment.partitions) (partitions[topic] ??= []).push(partition);
          for (const listener of joinListeners) listener({ memberId: assignment.memberId, partitions });
        },
        onError: (error, willRetry) => {
          for (const listener of crashListeners) listener(error, willRetry && stopping === null);
        },
      });
    },

    pause(topic, partition) {
      consumer?.pause(topic, partition);
    },

    resume(topic, partition) {
      consumer?.resume(topic, partition);
    },

    onJoin(listener) {
      joinListeners.push(listener);
    },

    onCrash(listener) {
      crashListeners.push(listener);
    },

    stop() {
      stopping ??= (async () => {
        try {
          await consumer?.stop();
        } finally {
          await client?.close();
        }
      })();
      return stopping;
    },
  };
}
