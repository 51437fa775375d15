// The messages API: browse a topic newest first, or forward from an offset or a time, one partition or all; and
// produce a message. Seeks are ListOffsets lookups (the broker's index), never a scan from the start.

import type { FastifyInstance } from "fastify";

import { GatewayError, GatewayErrorCode, validationFailed } from "../gateway/errors.js";
import type { TopicOffsets } from "../kafka/client/index.js";
import { actorOf, type ConsoleContext } from "./context.js";
import { notFound } from "./errors.js";
import { partitionForKey } from "../kafka/client/produce/partitioner.js";
import {
  objectBody,
  optionalInteger,
  optionalString,
  optionalTimestamp,
  integerOr,
  topicName,
  type Fields,
} from "./params.js";
import { readRange, toMessageView, type MessageView } from "./records.js";
import type { FetchedRecord } from "../kafka/client/index.js";
import type { SchemaDecoder } from "./decode.js";

/** Prepares decoding for these records: fetches the schemas their wire-format ids name, when a registry is set. */
export type DecoderFor = (records: readonly FetchedRecord[]) => Promise<SchemaDecoder | null>;

export const DEFAULT_MESSAGES_LIMIT = 50;
export const MESSAGES_LIMIT_MAX = 500;
export const PRODUCE_HEADERS_MAX = 100;
export const PRODUCE_VALUE_CHARS_MAX = 1024 * 1024;
export const PRODUCE_KEY_CHARS_MAX = 64 * 1024;
const OFFSET_MAX = Number.MAX_SAFE_INTEGER;

export interface BrowseRequest {
  readonly topic: string;
  readonly partition?: number;
  readonly offset?: number;
  readonly timestamp?: number;
  readonly limit: number;
}

export interface BrowseResult {
  readonly order: "newest" | "forward";
  readonly messages: MessageView[];
  readonly partitions: ReadonlyArray<{ partition: number; logStartOffset: number; highWatermark: number }>;
}

/** Every partition of the topic with its offsets, or the one asked for; 404 for an unknown partition. */
export async function selectedPartitions(
  context: ConsoleContext,
  topic: string,
  partition: number | undefined,
): Promise<TopicOffsets[]> {
  const offsets = await context.kafka.admin.topicOffsets(topic);
  if (partition === undefined) return offsets;
  const selected = offsets.filter((entry) => entry.partition === partition);
  if (selected.length === 0) {
    throw notFound(`topic "${topic}" has no partition ${partition}; it has partitions 0 to ${offsets.length - 1}`);
  }
  return selected;
}

function byNewest(left: MessageView, right: MessageView): number {
  return right.timestamp - left.timestamp || right.partition - left.partition || right.offset - left.offset;
}

function byOldest(left: MessageView, right: MessageView): number {
  return -byNewest(left, right);
}

export async function browse(
  context: ConsoleContext,
  request: BrowseRequest,
  decoderFor: DecoderFor,
): Promise<BrowseResult> {
  const { topic, limit } = request;
  const partitions = await selectedPartitions(context, topic, request.partition);
  const summary = partitions.map((entry) => ({
    partition: entry.partition,
    logStartOffset: entry.earliest,
    highWatermark: entry.latest,
  }));
  const views = async (ranges: FetchedRecord[][]) => {
    const records = ranges.flat();
    const schemaDecoder = await decoderFor(records);
    return records.map((record) => toMessageView(record, schemaDecoder));
  };

  if (request.offset === undefined && request.timestamp === undefined) {
    const ranges = await Promise.all(
      partitions.map((entry) =>
        readRange(
          context.kafka,
          topic,
          entry.partition,
          Math.max(entry.earliest, entry.latest - limit),
          entry.latest,
          limit,
        ),
      ),
    );
    return { order: "newest", messages: (await views(ranges)).sort(byNewest).slice(0, limit), partitions: summary };
  }

  let starts: Map<number, number>;
  if (request.offset !== undefined) {
    const offset = request.offset;
    const furthest = Math.max(...partitions.map((entry) => entry.latest));
    if (offset > furthest) {
      const where = request.partition === undefined ? "every partition" : `partition ${request.partition}`;
      throw validationFailed(
        "offset",
        `offset ${offset} is past the end of ${where} of "${topic}" (the next offset is ${furthest}); ask for at most ${furthest}`,
      );
    }
    starts = new Map(partitions.map((entry) => [entry.partition, Math.max(entry.earliest, offset)]));
  } else {
    const answers = await context.kafka.admin.listOffsets(
      partitions.map((entry) => ({ topic, partition: entry.partition, spec: { timestamp: request.timestamp! } })),
    );
    starts = new Map(
      answers.map((answer) => {
        const entry = partitions.find((candidate) => candidate.partition === answer.partition)!;
        return [answer.partition, answer.offset < 0 ? entry.latest : Math.max(entry.earliest, answer.offset)];
      }),
    );
  }
  const ranges = await Promise.all(
    partitions.map((entry) =>
      readRange(context.kafka, topic, entry.partition, starts.get(entry.partition)!, entry.latest, limit),
    ),
  );
  return { order: "forward", messages: (await views(ranges)).sort(byOldest).slice(0, limit), partitions: summary };
}

interface ProduceInput {
  readonly partition: number | undefined;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Array<{ key: string; value: string }>;
}

function produceInput(body: Fields): ProduceInput {
  const headersValue = body.headers ?? [];
  if (!Array.isArray(headersValue) || headersValue.length > PRODUCE_HEADERS_MAX) {
    throw validationFailed(
      "headers",
      `headers must be a list of at most ${PRODUCE_HEADERS_MAX} { key, value } objects`,
    );
  }
  const headers = headersValue.map((header: unknown, index) => {
    const entry = typeof header === "object" && header !== null ? (header as Fields) : {};
    if (typeof entry.key !== "string" || entry.key === "" || typeof entry.value !== "string") {
      throw validationFailed(`headers.${index}`, "each header must be { key: non-empty string, value: string }");
    }
    return { key: entry.key, value: entry.value };
  });
  const key = optionalString(body, "key", PRODUCE_KEY_CHARS_MAX);
  const value = optionalString(body, "value", PRODUCE_VALUE_CHARS_MAX);
  return {
    partition: optionalInteger(body, "partition", 0, 1_000_000),
    key: key === undefined || key === "" ? null : key,
    value: value ?? null,
    headers,
  };
}

export async function messageRoutes(
  app: FastifyInstance,
  context: ConsoleContext,
  decoderFor: DecoderFor,
): Promise<void> {
  let roundRobin = 0;

  app.get("/api/topics/:topic/messages", { preHandler: context.view }, async (request) => {
    const topic = topicName((request.params as Fields).topic);
    const query = request.query as Fields;
    const offset = optionalInteger(query, "offset", 0, OFFSET_MAX);
    const timestamp = optionalTimestamp(query, "timestamp");
    if (offset !== undefined && timestamp !== undefined) {
      throw validationFailed("timestamp", "give an offset or a timestamp, not both");
    }
    return browse(
      context,
      {
        topic,
        partition: optionalInteger(query, "partition", 0, 1_000_000),
        offset,
        timestamp,
        limit: integerOr(query, "limit", DEFAULT_MESSAGES_LIMIT, 1, MESSAGES_LIMIT_MAX),
      },
      decoderFor,
    );
  });

  app.post("/api/topics/:topic/messages", { preHandler: context.change }, async (request, reply) => {
    const topic = topicName((request.params as Fields).topic);
    const input = produceInput(objectBody(request.body));
    const offsets = await context.kafka.admin.topicOffsets(topic);
    let partition = input.partition;
    if (partition !== undefined && !offsets.some((entry) => entry.partition === partition)) {
      throw new GatewayError(GatewayErrorCode.NOT_FOUND, `topic "${topic}" has no partition ${partition}`, {
        field: "partition",
      });
    }
    partition ??=
      input.key === null
        ? roundRobin++ % offsets.length
        : partitionForKey(Buffer.from(input.key, "utf8"), offsets.length);
    const target = partition;
    const result = await context.audit.record(
      actorOf(request),
      "message.produce",
      topic,
      { partition: target, key: input.key },
      () =>
        context.kafka.produce({
          topic,
          partition: target,
          records: [{ key: input.key, value: input.value, headers: input.headers }],
        }),
    );
    return reply.status(201).send({ topic, partition: target, offset: result.baseOffset });
  });
}
