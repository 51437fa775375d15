// Reading partitions by manual assignment, without a consumer group: the caller says where each partition starts and
// owns the read position; nothing is committed and no group is left behind. Built on Sluice's own client (its
// partition reader), whichever library the toolkit's producers and group consumers use; each reader has its own
// connections, closed by close().

import {
  KafkaTopicUnknownError,
  type SluiceKafkaClient,
  type FetchedRecord,
  type OffsetSpec,
  type PartitionReader,
  type StartPosition,
} from "../../kafka/client/index.js";
import { integerOption, resolveInteger } from "../../platform/options.js";
import { InvalidArgumentError, UnknownTopicError } from "../errors.js";
import { RECORD_HEADERS_COUNT_MAX, type ConsumerRecord } from "./record.js";

export const DEFAULT_READER_FETCH_WAIT_MS = 500;
export const DEFAULT_READER_PARTITION_FETCH_BYTES_MAX = 1024 * 1024;
export const DEFAULT_READER_FETCH_BYTES_MAX = 10 * 1024 * 1024;

/** Where a partition starts: its earliest or latest offset, or an offset (a decimal string or a number). */
export type ReaderStart = "earliest" | "latest" | { offset: string | number };

export interface ReaderPartitionSpec {
  topic: string;
  partition: number;
  from: ReaderStart;
}

export interface KafkaPartitionReaderOptions {
  partitions?: readonly ReaderPartitionSpec[];
  /** How long one fetch waits for new records when there are none. */
  fetchWaitMs?: number;
  partitionFetchBytesMax?: number;
  fetchBytesMax?: number;
  /** When a partition's position is no longer stored (retention): go on from the earliest or the latest offset. */
  outOfRange?: "earliest" | "latest";
}

export interface KafkaPartitionReader {
  /** Adds partitions, or moves assigned ones to a new start. */
  assign(partitions: readonly ReaderPartitionSpec[]): void;
  unassign(partitions: ReadonlyArray<{ topic: string; partition: number }>): void;
  /** The topic's partition numbers, looked up afresh; rejects with UnknownTopicError for a missing topic. */
  partitionsOf(topic: string): Promise<number[]>;
  /** Offsets by query (earliest, latest, or the first at or after a time; -1 when no record is that recent). */
  offsets(queries: ReadonlyArray<{ topic: string; partition: number; spec: OffsetSpec }>): Promise<number[]>;
  /** Assigned partitions with the next offset each reads (null while a start is being looked up). */
  positions(): Array<{ topic: string; partition: number; offset: string | null }>;
  /**
   * One round: waits up to fetchWaitMs for records on any assigned partition and returns them, by partition and
   * offset, or an empty array. One read at a time.
   */
  read(): Promise<ConsumerRecord[]>;
  /** Closes the reader's connections: a read in progress fails or returns what it has; later reads return nothing. */
  close(): Promise<void>;
}

function positiveInteger(field: string, value: number | undefined, fallback: number, max: number): number {
  return resolveInteger(
    field,
    value,
    integerOption(fallback, 1, max),
    (name, message) => new InvalidArgumentError(name, message),
  );
}

function toStart(field: string, from: ReaderStart): StartPosition {
  if (from === "earliest" || from === "latest") return from;
  const offset = typeof from === "object" && from !== null ? Number(from.offset) : Number.NaN;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidArgumentError(field, 'must be "earliest", "latest" or { offset } with an offset of at least 0');
  }
  return { offset };
}

/**
 * A record of Sluice's client as the toolkit's consumers deliver it: headers as strings, the last of a repeated name
 * winning (a null value removes it). Runs once per consumed record, so it builds the headers in one pass.
 */
export function fromFetchedRecord(record: FetchedRecord): ConsumerRecord {
  const headers: Record<string, string> = {};
  const count = Math.min(record.headers.length, RECORD_HEADERS_COUNT_MAX);
  for (let index = 0; index < count; index++) {
    const { key, value } = record.headers[index]!;
    if (value === null) delete headers[key];
    else headers[key] = value.toString("utf8");
  }
  return {
    topic: record.topic,
    partition: record.partition,
    offset: String(record.offset),
    timestamp: record.timestamp,
    key: record.key,
    value: record.value,
    headers,
  };
}

/**
 * What a reader needs of the toolkit's KafkaClient: a new client of Sluice's own. A structural type, so that this
 * file does not import connection.ts, which imports the consumer, which imports this.
 */
export interface NativeSource {
  native(): SluiceKafkaClient;
}

export function createPartitionReader(
  client: NativeSource,
  options: KafkaPartitionReaderOptions = {},
): KafkaPartitionReader {
  const native = client.native();
  const reader: PartitionReader = native.reader({
    maxWaitMs: positiveInteger("fetchWaitMs", options.fetchWaitMs, DEFAULT_READER_FETCH_WAIT_MS, 30_000),
    partitionMaxBytes: positiveInteger(
      "partitionFetchBytesMax",
      options.partitionFetchBytesMax,
      DEFAULT_READER_PARTITION_FETCH_BYTES_MAX,
      1024 * 1024 * 1024,
    ),
    maxBytes: positiveInteger(
      "fetchBytesMax",
      options.fetchBytesMax,
      DEFAULT_READER_FETCH_BYTES_MAX,
      1024 * 1024 * 1024,
    ),
    outOfRange: options.outOfRange ?? "earliest",
  });
  const assign = (partitions: readonly ReaderPartitionSpec[]): void => {
    reader.assign(
      partitions.map((entry, index) => ({
        topic: entry.topic,
        partition: entry.partition,
        from: toStart(`partitions[${index}].from`, entry.from),
      })),
    );
  };
  assign(options.partitions ?? []);
  return {
    assign,
    unassign: (partitions) => reader.unassign(partitions),
    offsets: async (queries) => (await native.admin.listOffsets(queries)).map((answer) => answer.offset),
    partitionsOf: async (topic) => {
      try {
        const { partitions } = await native.cluster.topic(topic, { refresh: true });
        return partitions.map((entry) => entry.partition);
      } catch (error) {
        if (error instanceof KafkaTopicUnknownError) throw new UnknownTopicError(topic, error);
        throw error;
      }
    },
    positions: () =>
      reader.partitions().map(({ topic, partition, position }) => ({
        topic,
        partition,
        offset: position === null ? null : String(position),
      })),
    read: async () => (await reader.read()).map(fromFetchedRecord),
    close: async () => {
      reader.close();
      await native.close();
    },
  };
}
