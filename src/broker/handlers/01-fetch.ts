// Fetch (key 1), versions 4–12. Long-polls: holds the request until min_bytes are available or max_wait_ms has
// passed, woken by appends to any requested partition, and answers at once on a partition error. Returns whole
// stored batches; the first batch of the response is always returned whole even when larger than max_bytes (KIP-74).
// High watermark = log end offset on a single node; the last stable offset is the first offset of the oldest open
// transaction (or the log end). isolation_level=read_committed (1) returns batches only below the last stable offset,
// with the aborted transactions among them, so that the client drops their records; read_uncommitted sees it all.
// Leaves out: fetch sessions (session id 0 makes clients send full fetches), follower fetching (replica id ≥ 0 is
// refused), topic ids (v13+).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  FetchRequestSchema,
  FetchResponseSchema,
  type FetchRequest,
  type FetchResponse,
} from "../../kafka/protocol/messages/index.js";
import type { PartitionData } from "../../kafka/protocol/messages/fetch-response.js";
import type { Broker } from "../broker.js";
import { FETCH_MAX_WAIT_MS_MAX } from "../config.js";
import type { Partition } from "../topics.js";
import { authorized } from "../acl/authorize.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { abortedTransactionsFor, batchesBelow } from "../txn/read-committed.js";
import { defineHandler } from "./handler.js";

const EMPTY: Buffer = Buffer.alloc(0);
const READ_COMMITTED = 1;

function partitionError(partitionIndex: number, errorCode: number): PartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: -1,
    lastStableOffset: -1,
    logStartOffset: -1,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: EMPTY,
  };
}

interface Gathered {
  response: FetchResponse;
  bytes: number;
  hasError: boolean;
  partitions: Partition[];
}

/** Reads what is available now for every requested partition, within the request's byte budgets. */
function gather(broker: Broker, request: FetchRequest): Gathered {
  let budget = request.maxBytes > 0 ? request.maxBytes : Number.MAX_SAFE_INTEGER;
  let bytes = 0;
  let hasError = false;
  const partitions: Partition[] = [];
  const responses = request.topics.map((fetchTopic) => {
    const topic = broker.topics.get(fetchTopic.topic);
    return {
      topic: fetchTopic.topic,
      partitions: fetchTopic.partitions.map((fetchPartition): PartitionData => {
        const partition = topic?.partitions[fetchPartition.partition];
        if (partition === undefined) {
          hasError = true;
          return partitionError(fetchPartition.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        }
        if (fetchPartition.currentLeaderEpoch > 0) {
          hasError = true;
          return partitionError(fetchPartition.partition, ErrorCode.UNKNOWN_LEADER_EPOCH);
        }
        partitions.push(partition);
        const { log } = partition;
        const offset = fetchPartition.fetchOffset;
        const lastStableOffset = partition.txns.lastStableOffset(log.logEndOffset);
        const readCommitted = request.isolationLevel === READ_COMMITTED;
        const readableEnd = readCommitted ? lastStableOffset : log.logEndOffset;
        if (offset < log.logStartOffset || offset > log.logEndOffset) {
          hasError = true;
          return {
            ...partitionError(fetchPartition.partition, ErrorCode.OFFSET_OUT_OF_RANGE),
            highWatermark: log.logEndOffset,
            lastStableOffset,
            logStartOffset: log.logStartOffset,
          };
        }
        let records = EMPTY;
        if (offset < readableEnd && budget > 0) {
          const limit = Math.min(
            budget,
            fetchPartition.partitionMaxBytes > 0 ? fetchPartition.partitionMaxBytes : budget,
          );
          records = log.read(offset, limit, bytes === 0).records;
          if (readCommitted) records = batchesBelow(records, lastStableOffset);
          bytes += records.length;
          budget -= records.length;
        }
        return {
          partitionIndex: fetchPartition.partition,
          errorCode: ErrorCode.NONE,
          highWatermark: log.logEndOffset,
          lastStableOffset,
          logStartOffset: log.logStartOffset,
          abortedTransactions: readCommitted ? abortedTransactionsFor(partition.txns, offset, records) : null,
          preferredReadReplica: -1,
          records,
        };
      }),
    };
  });
  return {
    response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses },
    bytes,
    hasError,
    partitions,
  };
}

/**
 * Resolves to "woken" when an append to one of the partitions wakes it, "released" when the broker ends the wait
 * (a group reading them began a rebalance), "timeout" when timeoutMs ran out. Nothing runs in between: a waiting
 * fetch costs one timer and a waiter on each partition.
 */
function waitForData(partitions: Partition[], timeoutMs: number): Promise<"woken" | "released" | "timeout"> {
  return new Promise((resolve) => {
    const cancels: Array<() => void> = [];
    const end = (outcome: "woken" | "released" | "timeout"): void => {
      clearTimeout(timer);
      for (const cancel of cancels) cancel();
      resolve(outcome);
    };
    const timer = setTimeout(() => end("timeout"), timeoutMs);
    const wake = (released: boolean): void => end(released ? "released" : "woken");
    for (const partition of partitions) cancels.push(partition.wait(wake));
  });
}

async function longPoll(
  broker: Broker,
  request: FetchRequest,
  first: Gathered,
  deadline: number,
): Promise<FetchResponse> {
  let gathered = first;
  while (!broker.stopping) {
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) break;
    // The timer may fire a millisecond before Date.now() reaches the deadline; that is the deadline all the same,
    // and waiting again for the last millisecond would cost a second wake-up and read.
    const outcome = await waitForData(gathered.partitions, remainingMs);
    if (outcome !== "woken") break;
    gathered = gather(broker, request);
    if (gathered.hasError || gathered.bytes >= request.minBytes) return gathered.response;
  }
  return gather(broker, request).response;
}

export default defineHandler<FetchRequest, FetchResponse>({
  apiKey: 1,
  name: "Fetch",
  versions: [4, 12],
  requestSchema: FetchRequestSchema,
  responseSchema: FetchResponseSchema,
  handle(ctx, request) {
    const { broker } = ctx;
    if (request.replicaId >= 0) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        sessionId: 0,
        responses: request.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) => partitionError(p.partition, ErrorCode.NOT_LEADER_OR_FOLLOWER)),
        })),
      };
    }
    if (request.sessionId !== 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
    }
    const readable = (topic: string) => authorized(ctx, AclOperation.READ, AclResourceType.TOPIC, topic);
    if (!request.topics.every((topic) => readable(topic.topic))) {
      // Like any partition error, a topic the principal may not read is answered at once, beside the others' data.
      const allowed = gather(broker, { ...request, topics: request.topics.filter((topic) => readable(topic.topic)) });
      const denied = request.topics
        .filter((topic) => !readable(topic.topic))
        .map((topic) => ({
          topic: topic.topic,
          partitions: topic.partitions.map((p) => partitionError(p.partition, ErrorCode.TOPIC_AUTHORIZATION_FAILED)),
        }));
      return { ...allowed.response, responses: [...allowed.response.responses, ...denied] };
    }
    const gathered = gather(broker, request);
    const waitMs = Math.min(Math.max(request.maxWaitMs, 0), FETCH_MAX_WAIT_MS_MAX);
    if (
      gathered.hasError ||
      gathered.bytes >= request.minBytes ||
      waitMs === 0 ||
      gathered.partitions.length === 0 ||
      broker.stopping
    ) {
      return gathered.response;
    }
    return longPoll(broker, request, gathered, Date.now() + waitMs);
  },
  errorResponse(request, errorCode) {
    return {
      errorCode,
      sessionId: 0,
      responses: request.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => partitionError(p.partition, errorCode)),
      })),
    };
  },
});
