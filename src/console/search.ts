// The server-side filter: scans a topic (one partition or all) from a start offset or time to the end it had when
// the scan began, keeping the records whose key, value, header or JSON field matches. A scan is done in slices: each
// request scans at most a budget of records and time and answers with its matches, its progress and a cursor to
// continue from, so the page shows progress and stops a scan by not asking for the next slice. The whole scan is
// bounded by scanMax; reaching it ends the scan and says so.

import type { FastifyInstance } from "fastify";

import { validationFailed } from "../gateway/errors.js";
import type { FetchedRecord, PartitionPosition } from "../kafka/client/index.js";
import { compileFilter, scanBatches, type SearchFilter } from "./scan.js";
import type { ConsoleContext } from "./context.js";
import { selectedPartitions, type DecoderFor } from "./messages.js";
import {
  integerOr,
  objectBody,
  optionalInteger,
  optionalString,
  optionalTimestamp,
  topicName,
  type Fields,
} from "./params.js";
import { toMessageView, type MessageView } from "./records.js";

export type { SearchFilter } from "./scan.js";

export const DEFAULT_SCAN_MAX = 1_000_000;
export const SCAN_MAX_LIMIT = 100_000_000;
export const DEFAULT_MATCHES_MAX = 50;
export const MATCHES_MAX_LIMIT = 500;
/** Records one slice may scan before answering with its progress. */
export const SLICE_RECORDS_MAX = 500_000;
/** Time one slice may take before answering with its progress. */
export const SLICE_TIME_MS = 1_000;
/** Bytes per partition and per response in the scan's fetches: large, so a scan makes few round trips. */
export const SCAN_PARTITION_FETCH_BYTES = 8 * 1024 * 1024;
export const SCAN_FETCH_BYTES = 32 * 1024 * 1024;
const FILTER_CHARS_MAX = 1_000;

export interface ScanCursor {
  /** The next offset to read, by partition. */
  readonly positions: Record<string, number>;
  /** The end each partition had when the scan began, by partition. */
  readonly ends: Record<string, number>;
  readonly scanned: number;
  /** Records in the scan's ranges when it began. */
  readonly total: number;
}

export interface SearchSlice {
  readonly matches: MessageView[];
  readonly scanned: number;
  readonly total: number;
  /** Null when the scan is over. */
  readonly cursor: ScanCursor | null;
  /** Why the scan ended: "end" (every partition read to where it ended), "scanMax", or null while going on. */
  readonly stoppedBy: "end" | "scanMax" | null;
  readonly scanMax: number;
  readonly recordsPerSecond: number;
}

function filterOf(fields: Fields): SearchFilter {
  const filter: SearchFilter = {
    key: optionalString(fields, "key", FILTER_CHARS_MAX) || undefined,
    value: optionalString(fields, "value", FILTER_CHARS_MAX) || undefined,
    header: optionalString(fields, "header", FILTER_CHARS_MAX) || undefined,
    jsonPath: optionalString(fields, "jsonPath", FILTER_CHARS_MAX) || undefined,
    jsonEquals: optionalString(fields, "jsonEquals", FILTER_CHARS_MAX),
  };
  if (filter.jsonPath !== undefined && !/^\$?\.?[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(filter.jsonPath)) {
    throw validationFailed("filter.jsonPath", "jsonPath must be dotted field names, such as order.customer.id");
  }
  return filter;
}

function cursorOf(fields: Fields): ScanCursor | undefined {
  const raw = fields.cursor;
  if (raw === undefined || raw === null) return undefined;
  const bad = () => validationFailed("cursor", "cursor must be the cursor a previous search answered with");
  if (typeof raw !== "object" || Array.isArray(raw)) throw bad();
  const cursor = raw as Record<string, unknown>;
  const offsets = (value: unknown): Record<string, number> => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad();
    for (const [partition, offset] of Object.entries(value)) {
      if (!/^[0-9]{1,7}$/.test(partition) || !Number.isSafeInteger(offset) || (offset as number) < 0) throw bad();
    }
    return value as Record<string, number>;
  };
  const count = (value: unknown): number => {
    if (!Number.isSafeInteger(value) || (value as number) < 0) throw bad();
    return value as number;
  };
  return {
    positions: offsets(cursor.positions),
    ends: offsets(cursor.ends),
    scanned: count(cursor.scanned),
    total: count(cursor.total),
  };
}

export async function startCursor(
  context: ConsoleContext,
  topic: string,
  partition: number | undefined,
  offset: number | undefined,
  timestamp: number | undefined,
): Promise<ScanCursor> {
  const partitions = await selectedPartitions(context, topic, partition);
  const positions: Record<string, number> = {};
  const ends: Record<string, number> = {};
  let byTime: Map<number, number> | null = null;
  if (timestamp !== undefined) {
    const answers = await context.kafka.admin.listOffsets(
      partitions.map((entry) => ({ topic, partition: entry.partition, spec: { timestamp } })),
    );
    byTime = new Map(answers.map((answer) => [answer.partition, answer.offset]));
  }
  let total = 0;
  for (const entry of partitions) {
    const fromTime = byTime?.get(entry.partition);
    const start = fromTime !== undefined ? (fromTime < 0 ? entry.latest : fromTime) : (offset ?? entry.earliest);
    positions[entry.partition] = Math.min(Math.max(entry.earliest, start), entry.latest);
    ends[entry.partition] = entry.latest;
    total += entry.latest - positions[entry.partition]!;
  }
  return { positions, ends, scanned: 0, total };
}

export async function searchSlice(
  context: ConsoleContext,
  topic: string,
  options: {
    cursor: ScanCursor;
    filter: SearchFilter;
    matchesMax: number;
    scanMax: number;
    sliceRecordsMax?: number;
    sliceTimeMs?: number;
  },
  decoderFor: DecoderFor,
): Promise<SearchSlice> {
  const filter = compileFilter(options.filter);
  const positions = { ...options.cursor.positions };
  const { ends } = options.cursor;
  const found: FetchedRecord[] = [];
  const startedAt = performance.now();
  const sliceRecordsMax = options.sliceRecordsMax ?? SLICE_RECORDS_MAX;
  const sliceTimeMs = options.sliceTimeMs ?? SLICE_TIME_MS;
  let scanned = options.cursor.scanned;
  let inSlice = 0;
  let stoppedBy: SearchSlice["stoppedBy"] = null;
  const open = (): PartitionPosition[] =>
    Object.keys(positions)
      .filter((partition) => positions[partition]! < ends[partition]!)
      .map((partition) => ({ topic, partition: Number(partition), offset: positions[partition]! }));
  for (;;) {
    const wanted = open();
    if (wanted.length === 0) {
      stoppedBy = "end";
      break;
    }
    if (scanned >= options.scanMax) {
      stoppedBy = "scanMax";
      break;
    }
    if (
      inSlice >= sliceRecordsMax ||
      performance.now() - startedAt >= sliceTimeMs ||
      found.length >= options.matchesMax
    ) {
      break;
    }
    const fetched = await context.kafka.fetchBytes(wanted, {
      maxWaitMs: 0,
      partitionMaxBytes: SCAN_PARTITION_FETCH_BYTES,
      maxBytes: SCAN_FETCH_BYTES,
    });
    let progressed = false;
    for (const partition of fetched) {
      // A partition read after the matches ran out keeps its position for the next slice.
      if (found.length >= options.matchesMax) break;
      const key = String(partition.partition);
      const from = positions[key]!;
      const budget = Math.min(options.scanMax - scanned, sliceRecordsMax - inSlice);
      const scan = scanBatches(
        topic,
        partition.partition,
        partition.bytes,
        { from, end: ends[key]!, budget: Math.max(0, budget) },
        filter,
        (record) => {
          found.push(record);
          return found.length < options.matchesMax;
        },
      );
      scanned += scan.scanned;
      inSlice += scan.scanned;
      const next = Math.min(scan.next, ends[key]!);
      if (next > from) progressed = true;
      positions[key] = next;
    }
    if (!progressed) {
      stoppedBy = "end";
      break;
    }
  }
  const seconds = (performance.now() - startedAt) / 1000;
  const done = stoppedBy !== null;
  const schemaDecoder = await decoderFor(found);
  return {
    matches: found.map((record) => toMessageView(record, schemaDecoder)),
    scanned,
    total: options.cursor.total,
    cursor: done ? null : { positions, ends, scanned, total: options.cursor.total },
    stoppedBy,
    scanMax: options.scanMax,
    recordsPerSecond: seconds > 0 ? Math.round(inSlice / seconds) : 0,
  };
}

export async function searchRoutes(
  app: FastifyInstance,
  context: ConsoleContext,
  decoderFor: DecoderFor,
): Promise<void> {
  app.post("/api/topics/:topic/search", { preHandler: context.view }, async (request) => {
    const topic = topicName((request.params as Fields).topic);
    const body = objectBody(request.body);
    const filterFields = body.filter ?? {};
    if (typeof filterFields !== "object" || filterFields === null || Array.isArray(filterFields)) {
      throw validationFailed("filter", "filter must be an object: { key?, value?, header?, jsonPath?, jsonEquals? }");
    }
    const filter = filterOf(filterFields as Fields);
    const cursor =
      cursorOf(body) ??
      (await startCursor(
        context,
        topic,
        optionalInteger(body, "partition", 0, 1_000_000),
        optionalInteger(body, "offset", 0, Number.MAX_SAFE_INTEGER),
        optionalTimestamp(body, "timestamp"),
      ));
    return searchSlice(
      context,
      topic,
      {
        cursor,
        filter,
        matchesMax: integerOr(body, "limit", DEFAULT_MATCHES_MAX, 1, MATCHES_MAX_LIMIT),
        scanMax: integerOr(body, "scanMax", DEFAULT_SCAN_MAX, 1, SCAN_MAX_LIMIT),
      },
      decoderFor,
    );
  });
}
