// Replays, for one resuming subscription, the events older than the topic's recent events hold: a reader of its own
// starts at the offsets the client asked for and hands events over until each partition reaches the recent events,
// where the live stream takes over. It sends only as fast as the client reads, so a long replay holds no more than
// a fetch in memory, and it gives up after a time limit.

import { setTimeout as sleep } from "node:timers/promises";

import type { KafkaClient } from "../../toolkit/kafka/connection.js";
import type { ToolkitLogger } from "../../toolkit/logger.js";
import { toEventFrame } from "./event-frame.js";
import { WebSocketErrorCode, WebSocketRequestError } from "./protocol.js";
import type { Subscription } from "./subscription.js";
import { createTopicReader, type BatchContext } from "./topic-reader.js";

/** How often a replay waiting for the client to read checks its send buffer again. */
export const REPLAY_DRAIN_POLL_MS = 10;

export interface ReplayOptions {
  kafka: KafkaClient;
  subscription: Subscription;
  /** Bytes sent to the client that it has not read yet. */
  bufferedBytes(): number;
  /** The replay waits while the client has more than this to read. */
  pauseAboveBytes: number;
  timeoutMs: number;
  fetchWaitMs: number;
  partitionFetchBytesMax: number;
  logger: ToolkitLogger;
  /** Called once: with null when every partition reached the live stream, or with the reason the replay failed. */
  onFinished(error: WebSocketRequestError | null): void;
}

export interface Replay {
  /** Stops the replay without calling onFinished. */
  stop(): Promise<void>;
}

export function startReplay(options: ReplayOptions): Replay {
  const { subscription, logger } = options;
  const topic = subscription.topic;
  let finished = false;

  const waitForClient = async (context: BatchContext): Promise<void> => {
    while (!finished && context.active() && options.bufferedBytes() > options.pauseAboveBytes) {
      await sleep(REPLAY_DRAIN_POLL_MS);
    }
  };

  const reader = createTopicReader({
    kafka: options.kafka,
    topic,
    startOffset: (partition) =>
      subscription.isReplaying(partition) ? (subscription.nextOffset(partition) ?? null) : null,
    onRecords: async (partition, records, context) => {
      for (const record of records) {
        if (finished || !context.active()) return;
        if (!subscription.isReplaying(partition)) break;
        await waitForClient(context);
        if (finished || !context.active()) return;
        if (subscription.deliverReplayed(toEventFrame(record))) break;
      }
      if (!subscription.isReplaying(partition)) reader.pause(partition);
      if (subscription.replayingPartitions().length === 0) finish(null);
    },
    fromEarliestWhenOutOfRange: true,
    fetchWaitMs: options.fetchWaitMs,
    partitionFetchBytesMax: options.partitionFetchBytesMax,
    logger,
  });

  const timer = setTimeout(() => {
    finish(
      new WebSocketRequestError(
        WebSocketErrorCode.UNAVAILABLE,
        `replaying older events of "${topic}" did not finish within ${options.timeoutMs} ms; subscribe again ` +
          "with the same resume offsets to continue",
        { topic },
      ),
    );
  }, options.timeoutMs);
  timer.unref();

  function finish(error: WebSocketRequestError | null): void {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    // Not awaited: this can run inside the reader's own batch, which its stop() waits for.
    void reader.stop();
    options.onFinished(error);
  }

  reader.start().catch((error: unknown) => {
    logger.warn({ err: error, topic }, "the WebSocket gateway could not start replaying a topic for a resume");
    finish(
      new WebSocketRequestError(
        WebSocketErrorCode.UNAVAILABLE,
        `the message broker cannot be reached to replay "${topic}"; try again shortly`,
        { topic },
      ),
    );
  });

  return {
    stop() {
      finished = true;
      clearTimeout(timer);
      return reader.stop();
    },
  };
}
