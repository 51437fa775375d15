// The AMQP consumer: a group member reading one queue per topic (see topology.ts), each on its own channel with a
// prefetch limit, and handing the consumer pipeline batches as the Kafka consumer does. A delivery tag stands in for
// an offset, and commit(next) acknowledges the batch's messages before next; the pipeline commits only after the
// inbox transaction committed, so a crash before the ack makes RabbitMQ redeliver the message, and the inbox skips it.
//
// concurrency, which on Kafka is how many partitions are handled at once, is here how many batches are: each queue's
// deliveries are split over `concurrency` lanes by key (lanes.ts), each lane handed over as a partition of its own,
// and at most `concurrency` batches run at once over all the member's queues. A batch holds at most one transaction's
// events (EVENTS_PER_TRANSACTION_MAX), so that its messages are acknowledged right after their commit and the
// prefetch window refills while the lane's next group runs (the pipeline commits a longer batch only at its end).
// A key's events stay in delivery order within the member; across the members of a group, competing consumers on
// one queue, no order holds.
//
// Messages not yet done when a batch ends (the pipeline paused the lane for a backoff, or a retry that is not due)
// stay buffered and are handed over again; they are never requeued, which would count against a quorum queue's
// delivery limit. A lost channel or connection drops the buffers (RabbitMQ redelivers those messages) and the member
// subscribes again with backoff, up to reconnectAttemptsMax attempts, before it reports itself crashed; so does a
// start whose subscription timed out (a quorum queue answers nothing until it has a leader, after a restart).

import type { Channel, ConsumeMessage } from "amqplib";

import { EVENTS_PER_TRANSACTION_MAX } from "../consumer-options.js";
import { describeError, ToolkitError, ToolkitErrorCode } from "../errors.js";
import type { ToolkitLogger } from "../logger.js";
import {
  resolveConcurrency,
  type ConsumerRecord,
  type GroupAssignment,
  type KafkaConsumer,
  type KafkaConsumerOptions,
  type PartitionBatch,
} from "../kafka/consumer.js";
import type { AmqpConnection } from "./connection.js";
import { DeliveryAcks, laneOf } from "./lanes.js";
import { toConsumerRecordFromAmqp } from "./message.js";
import { reconnectDelayMs, type ResolvedAmqpOptions } from "./options.js";
import type { AmqpTopology } from "./topology.js";

/** One lane of a queue: its buffered messages, in delivery order, and whether a batch of them is being handled. */
interface Lane {
  readonly index: number;
  buffer: ConsumerRecord[];
  paused: boolean;
  running: boolean;
}

interface QueueState {
  readonly topic: string;
  queue: string;
  channel: Channel | null;
  consumerTag: string | null;
  /** Counts channels: a batch from an earlier channel is no longer active, and its acks go nowhere. */
  generation: number;
  lanes: Lane[];
  acks: DeliveryAcks;
}

function ackMessage(deliveryTag: number): ConsumeMessage {
  return { fields: { deliveryTag } } as ConsumeMessage;
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
  const batches = new Set<Promise<void>>();
  let eachBatch: ((batch: PartitionBatch) => Promise<void>) | null = null;
  let concurrency = 1;
  let started = false;
  let stopping = false;
  let scheduled = false;
  /** Where the next look for work starts, so that no lane waits behind busier ones. */
  let cursor = 0;
  let resubscribing: Promise<void> | null = null;

  const schedule = (): void => {
    if (scheduled || stopping) return;
    scheduled = true;
    // A turn later, so that the messages of a burst arrive first and travel as one batch.
    setImmediate(() => {
      scheduled = false;
      pump();
    });
  };

  /** Starts batches on lanes with work, up to concurrency at once. */
  const pump = (): void => {
    if (stopping || eachBatch === null) return;
    const lanes = [...queues.values()].flatMap((state) => state.lanes.map((lane) => ({ state, lane })));
    for (let step = 0; step < lanes.length && batches.size < concurrency; step++) {
      const { state, lane } = lanes[(cursor + step) % lanes.length]!;
      if (!lane.running && !lane.paused && lane.buffer.length > 0 && state.channel !== null) run(state, lane);
    }
    cursor = lanes.length === 0 ? 0 : (cursor + 1) % lanes.length;
  };

  const run = (state: QueueState, lane: Lane): void => {
    const handler = eachBatch;
    const channel = state.channel;
    if (handler === null || channel === null) return;
    const generation = state.generation;
    const current = (): boolean => state.generation === generation && state.channel === channel;
    const batch: PartitionBatch = {
      topic: state.topic,
      partition: lane.index,
      records: lane.buffer.slice(0, EVENTS_PER_TRANSACTION_MAX),
      active: () => !stopping && current(),
      markDone: (offset) => {
        if (!current()) return;
        const done = Number(offset);
        let kept = 0;
        while (kept < lane.buffer.length && Number(lane.buffer[kept]?.offset) <= done) kept += 1;
        lane.buffer.splice(0, kept);
      },
      commit: async (nextOffset) => {
        if (!current()) throw new Error("the channel these messages came on has closed; RabbitMQ delivers them again");
        const before = Number(nextOffset);
        const finished: number[] = [];
        for (const record of lane.buffer) {
          const tag = Number(record.offset);
          if (tag >= before) break;
          finished.push(tag);
        }
        // An ack has no reply in AMQP 0-9-1: RabbitMQ forgets the messages once it reads the frame.
        const plan = state.acks.finish(finished);
        if (plan.through !== null) channel.ack(ackMessage(plan.through), true);
        for (const tag of plan.singles) channel.ack(ackMessage(tag), false);
      },
      heartbeat: async () => undefined,
    };
    lane.running = true;
    const running: Promise<void> = handler(batch)
      .catch((error: unknown) => {
        logger.error(
          { err: error, queue: state.queue, lane: lane.index },
          `a batch of queue ${state.queue} failed: ${describeError(error)}`,
        );
      })
      .finally(() => {
        lane.running = false;
        batches.delete(running);
        // A full group waiting goes now; a smaller one waits a turn for the rest of its burst.
        if (lane.buffer.length >= EVENTS_PER_TRANSACTION_MAX) pump();
        else schedule();
      });
    batches.add(running);
  };

  // Up to three quarters of the prefetch may wait finished behind a slower lane. Lanes running at one pace hold about
  // half as many at most (each lane's group spans `concurrency` times as many delivery tags), which acked singly
  // cost RabbitMQ (a quorum queue) a log entry each; more means a lane is stuck (paused for a backoff), and then the
  // rest of the window keeps the other lanes fed.
  const newAcks = (): DeliveryAcks => new DeliveryAcks(Math.floor((options.prefetch * 3) / 4));

  const newLanes = (): Lane[] =>
    Array.from({ length: concurrency }, (_, index) => ({ index, buffer: [], paused: false, running: false }));

  /** Forgets what the channel delivered (RabbitMQ delivers it again); lanes keep their pause. */
  const dropDeliveries = (state: QueueState): void => {
    state.generation += 1;
    state.acks = newAcks();
    for (const lane of state.lanes) lane.buffer = [];
  };

  const subscribe = async (state: QueueState): Promise<void> => {
    const channel = await connection.channel();
    try {
      state.queue = await connection.operation(channel, `declaring the queue of ${state.topic}`, async () => {
        const queue = await topology.declareSubscription(channel, state.topic, groupId);
        await channel.prefetch(options.prefetch);
        return queue;
      });
    } catch (error) {
      await connection.closeChannel(channel);
      throw error;
    }
    dropDeliveries(state);
    state.channel = channel;
    channel.on("close", () => {
      if (state.channel !== channel) return;
      state.channel = null;
      state.consumerTag = null;
      dropDeliveries(state);
      if (!stopping) void resubscribeAll();
    });
    const reply = await connection.operation(channel, `consuming queue ${state.queue}`, () =>
      channel.consume(
        state.queue,
        (message) => {
          if (message === null) {
            // RabbitMQ cancelled the consumer (its queue was deleted): subscribe again, which declares it anew.
            if (!stopping) void connection.closeChannel(channel);
            return;
          }
          if (state.channel !== channel) return;
          const record = toConsumerRecordFromAmqp(state.topic, message);
          const deliveryTag = message.fields.deliveryTag;
          state.acks.delivered(deliveryTag);
          state.lanes[laneOf(record.key, deliveryTag, state.lanes.length)]?.buffer.push(record);
          schedule();
        },
        { noAck: false },
      ),
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

    async start({ topics, concurrency: batchesAtOnce, eachBatch: handler }) {
      if (started)
        throw new ToolkitError(ToolkitErrorCode.CONSUMER_ALREADY_STARTED, "this consumer was started already");
      started = true;
      eachBatch = handler;
      concurrency = resolveConcurrency(batchesAtOnce);
      for (const topic of topics) {
        queues.set(topic, {
          topic,
          queue: topology.groupQueue(topic, groupId),
          channel: null,
          consumerTag: null,
          generation: 0,
          lanes: newLanes(),
          acks: newAcks(),
        });
      }
      try {
        for (const state of queues.values()) await subscribe(state);
      } catch (error) {
        if (!(error instanceof ToolkitError && error.code === ToolkitErrorCode.AMQP_TIMED_OUT)) throw error;
        // RabbitMQ is there but did not answer: after a restart, a quorum queue refuses nothing but answers nothing
        // until it has elected its leader. The queues not subscribed yet are tried again with backoff, as after a
        // lost connection, and the group joins once every one is; an unreachable server still fails the start.
        logger.warn(
          { groupId, err: error },
          `consumer group ${groupId}: ${describeError(error)}; subscribing again with backoff`,
        );
        void resubscribeAll();
        return;
      }
      for (const listener of joinListeners) listener(assignment());
    },

    // A partition is a lane; another number stands for the whole queue.
    pause(topic, partition) {
      const lanes = queues.get(topic)?.lanes ?? [];
      for (const lane of lanes[partition] !== undefined ? [lanes[partition]] : lanes) lane.paused = true;
    },

    resume(topic, partition) {
      const lanes = queues.get(topic)?.lanes ?? [];
      for (const lane of lanes[partition] !== undefined ? [lanes[partition]] : lanes) lane.paused = false;
      schedule();
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
            const { channel, consumerTag } = state;
            await connection
              .operation(channel, `cancelling the consumer of ${state.queue}`, () => channel.cancel(consumerTag))
              .catch(() => undefined);
          }
        }),
      );
      await Promise.all([...batches]);
      await Promise.all(
        [...queues.values()].map(async (state) => {
          const channel = state.channel;
          state.channel = null;
          dropDeliveries(state);
          if (channel !== null) await connection.closeChannel(channel);
        }),
      );
      await resubscribing?.catch(() => undefined);
    },
  };
}
