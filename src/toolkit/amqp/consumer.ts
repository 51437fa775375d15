// The AMQP consumer: a group member reading one queue per topic (see topology.ts), each on its own channel with a
// prefetch limit, and handing the consumer pipeline batches as the Kafka consumer does. A queue is "partition 0" and
// a delivery tag its "offset": commit(next) acknowledges every message up to next - 1 at once (a cumulative ack, which
// is why each queue has a channel of its own: tags count per channel). The pipeline commits only after the inbox
// transaction committed, so a crash before the ack makes RabbitMQ redeliver the message, and the inbox skips it.
//
// Messages not yet done when a batch ends (the pipeline paused the queue for a backoff, or a retry that is not due)
// stay buffered and are handed over again; they are never requeued, which would count against a quorum queue's
// delivery limit. A lost channel or connection drops the buffer (RabbitMQ redelivers those messages) and the member
// subscribes again with backoff, up to reconnectAttemptsMax attempts, before it reports itself crashed.

import type { Channel, ConsumeMessage } from "amqplib";

import { describeError, ToolkitError, ToolkitErrorCode } from "../errors.js";
import type { ToolkitLogger } from "../logger.js";
import type {
  ConsumerRecord,
  GroupAssignment,
  KafkaConsumer,
  KafkaConsumerOptions,
  PartitionBatch,
} from "../kafka/consumer.js";
import type { AmqpConnection } from "./connection.js";
import { toConsumerRecordFromAmqp } from "./message.js";
import { reconnectDelayMs, type ResolvedAmqpOptions } from "./options.js";
import type { AmqpTopology } from "./topology.js";

interface QueueState {
  readonly topic: string;
  queue: string;
  channel: Channel | null;
  consumerTag: string | null;
  /** Counts channels: a batch from an earlier channel is no longer active, and its acks go nowhere. */
  generation: number;
  buffer: ConsumerRecord[];
  paused: boolean;
  running: Promise<void> | null;
  scheduled: boolean;
}

export function createAmqpConsumer(
  connection: AmqpConnection,
  topology: AmqpTopology,
  options: ResolvedAmqpOptions,
  logger: ToolkitLogger,
  consumerOptions: KafkaConsumerOptions,
): KafkaConsumer {
  const groupId = consumerOptions.groupId;
  const queues = new Map<string, QueueState>();
  const joinListeners: Array<(assignment: GroupAssignment) => void> = [];
  const crashListeners: Array<(error: Error, restarting: boolean) => void> = [];
  let eachBatch: ((batch: PartitionBatch) => Promise<void>) | null = null;
  let started = false;
  let stopping = false;
  let resubscribing: Promise<void> | null = null;

  const schedule = (state: QueueState): void => {
    if (state.scheduled || state.running !== null || state.paused || stopping || state.buffer.length === 0) return;
    state.scheduled = true;
    // A turn later, so that the messages of a burst arrive first and travel as one batch.
    setImmediate(() => {
      state.scheduled = false;
      drain(state);
    });
  };

  const drain = (state: QueueState): void => {
    if (state.running !== null || state.paused || stopping || state.buffer.length === 0 || eachBatch === null) return;
    const channel = state.channel;
    if (channel === null) return;
    const generation = state.generation;
    const records = state.buffer.slice();
    const batch: PartitionBatch = {
      topic: state.topic,
      partition: 0,
      records,
      active: () => !stopping && state.generation === generation,
      markDone: (offset) => {
        if (state.generation !== generation) return;
        const done = Number(offset);
        let kept = 0;
        while (kept < state.buffer.length && Number(state.buffer[kept]?.offset) <= done) kept += 1;
        state.buffer.splice(0, kept);
      },
      commit: async (nextOffset) => {
        if (state.generation !== generation || state.channel !== channel) {
          throw new Error("the channel these messages came on has closed; RabbitMQ delivers them again");
        }
        // An ack has no reply in AMQP 0-9-1: RabbitMQ forgets the messages once it reads the frame.
        channel.ack({ fields: { deliveryTag: Number(nextOffset) - 1 } } as ConsumeMessage, true);
      },
      heartbeat: async () => undefined,
    };
    state.running = eachBatch(batch)
      .catch((error: unknown) => {
        logger.error(
          { err: error, queue: state.queue },
          `a batch of queue ${state.queue} failed: ${describeError(error)}`,
        );
      })
      .finally(() => {
        state.running = null;
        schedule(state);
      });
  };

  const subscribe = async (state: QueueState): Promise<void> => {
    const channel = await connection.channel();
    try {
      state.queue = await topology.declareSubscription(channel, state.topic, groupId);
      await channel.prefetch(options.prefetch);
    } catch (error) {
      await channel.close().catch(() => undefined);
      throw error;
    }
    state.generation += 1;
    state.buffer = [];
    state.channel = channel;
    channel.on("close", () => {
      if (state.channel !== channel) return;
      state.channel = null;
      state.consumerTag = null;
      state.generation += 1;
      state.buffer = [];
      if (!stopping) void resubscribeAll();
    });
    const reply = await channel.consume(
      state.queue,
      (message) => {
        if (message === null) {
          // RabbitMQ cancelled the consumer (its queue was deleted): subscribe again, which declares it anew.
          if (!stopping) void channel.close().catch(() => undefined);
          return;
        }
        if (state.channel !== channel) return;
        state.buffer.push(toConsumerRecordFromAmqp(state.topic, message));
        schedule(state);
      },
      { noAck: false },
    );
    state.consumerTag = reply.consumerTag;
  };

  const assignment = (): GroupAssignment => ({
    memberId: `${groupId}-amqp`,
    partitions: Object.fromEntries([...queues.keys()].map((topic) => [topic, [0]])),
  });

  /** Subscribes every queue that lost its channel, with backoff, up to reconnectAttemptsMax attempts. */
  const resubscribeAll = (): Promise<void> => {
    resubscribing ??= (async () => {
      let lastError: unknown = null;
      for (let attempt = 1; attempt <= options.reconnectAttemptsMax && !stopping; attempt++) {
        try {
          for (const state of queues.values()) {
            if (!stopping && state.channel === null) await subscribe(state);
          }
          // A channel may have closed again meanwhile; the next round subscribes it.
          if ([...queues.values()].some((state) => state.channel === null)) continue;
          if (!stopping) {
            logger.info({ groupId, attempt }, `consumer group ${groupId}: subscribed to RabbitMQ again`);
            for (const listener of joinListeners) listener(assignment());
          }
          return;
        } catch (error) {
          lastError = error;
          const delayMs = reconnectDelayMs(options, attempt);
          logger.warn(
            { groupId, attempt, delayMs, err: error },
            `consumer group ${groupId}: subscribing to RabbitMQ at ${options.address} failed ` +
              `(${describeError(error)}); trying again`,
          );
          await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
      }
      if (stopping) return;
      const failure = new ToolkitError(
        ToolkitErrorCode.AMQP_UNREACHABLE,
        `consumer group ${groupId} could not subscribe to RabbitMQ at ${options.address} in ` +
          `${options.reconnectAttemptsMax} attempts (reconnectAttemptsMax): ${describeError(lastError)}`,
        { cause: lastError },
      );
      for (const listener of crashListeners) listener(failure, false);
    })().finally(() => {
      resubscribing = null;
    });
    return resubscribing;
  };

  return {
    groupId,

    async start({ topics, eachBatch: handler }) {
      if (started)
        throw new ToolkitError(ToolkitErrorCode.CONSUMER_ALREADY_STARTED, "this consumer was started already");
      started = true;
      eachBatch = handler;
      for (const topic of topics) {
        queues.set(topic, {
          topic,
          queue: topology.groupQueue(topic, groupId),
          channel: null,
          consumerTag: null,
          generation: 0,
          buffer: [],
          paused: false,
          running: null,
          scheduled: false,
        });
      }
      for (const state of queues.values()) await subscribe(state);
      for (const listener of joinListeners) listener(assignment());
    },

    pause(topic) {
      const state = queues.get(topic);
      if (state !== undefined) state.paused = true;
    },

    resume(topic) {
      const state = queues.get(topic);
      if (state === undefined) return;
      state.paused = false;
      schedule(state);
    },

    onJoin(listener) {
      joinListeners.push(listener);
    },

    onCrash(listener) {
      crashListeners.push(listener);
    },

    async stop() {
      stopping = true;
      // No new deliveries, then the batches in progress finish (and ack what they did), then the channels close,
      // which hands the messages still unacknowledged back to their queues.
      await Promise.all(
        [...queues.values()].map(async (state) => {
          if (state.channel !== null && state.consumerTag !== null) {
            await state.channel.cancel(state.consumerTag).catch(() => undefined);
          }
        }),
      );
      await Promise.all([...queues.values()].map((state) => state.running));
      await Promise.all(
        [...queues.values()].map(async (state) => {
          const channel = state.channel;
          state.channel = null;
          state.buffer = [];
          await channel?.close().catch(() => undefined);
        }),
      );
      await resubscribing?.catch(() => undefined);
    },
  };
}
