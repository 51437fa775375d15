// DeleteTopics (key 20), versions 0–6. Topics are named (v0–5), or named or identified by topic id (v6: exactly one
// of the two). An unknown name is UNKNOWN_TOPIC_OR_PARTITION, an unknown id UNKNOWN_TOPIC_ID. A topic named twice in
// one request is answered with INVALID_REQUEST for every mention and not deleted, as Kafka does. The topic leaves
// the registry at once; the response waits for its files to be removed, and a removal that fails is logged, not
// reported, because the topic is gone for every client either way.
// Leaves out: timeoutMs (removing files is not bounded by it) and throttling (KIP-599).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  DeleteTopicsRequestSchema,
  DeleteTopicsResponseSchema,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
} from "../../kafka/protocol/messages/index.js";
import type { DeletableTopicResult } from "../../kafka/protocol/messages/delete-topics-response.js";
import type { Broker } from "../broker.js";
import { TopicError, type Topic } from "../topics.js";
import { authorized } from "../acl/authorize.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { defineHandler } from "./handler.js";

/** Topics one DeleteTopics request may name; the rest are answered with INVALID_REQUEST. */
export const DELETE_TOPICS_TOPICS_MAX = 1000;

const ZERO_UUID = Buffer.alloc(16);

/** One mention of a topic in the request, resolved to a name when it can be. */
interface Target {
  /** The name as the response reports it: the given one, or the one found for the id, or null. */
  name: string | null;
  topicId: Buffer;
  /** Set when the mention cannot be acted on. */
  error?: { errorCode: number; errorMessage: string };
}

/** Finds topics by id; the index is built on first use, as most requests name their topics. */
function idLookup(broker: Broker): (topicId: Buffer) => Topic | undefined {
  let byId: Map<string, Topic> | null = null;
  return (topicId) => {
    byId ??= new Map(broker.topics.all().map((topic) => [topic.id.toString("hex"), topic]));
    return byId.get(topicId.toString("hex"));
  };
}

function resolve(
  broker: Broker,
  findById: (topicId: Buffer) => Topic | undefined,
  name: string | null,
  topicId: Buffer,
): Target {
  const byId = !topicId.equals(ZERO_UUID);
  if (name !== null && byId) {
    return {
      name,
      topicId,
      error: { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "give a topic name or a topic id, not both" },
    };
  }
  if (byId) {
    const topic = findById(topicId);
    if (topic === undefined) {
      return {
        name: null,
        topicId,
        error: {
          errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
          errorMessage: `no topic has id ${topicId.toString("hex")}`,
        },
      };
    }
    return { name: topic.name, topicId };
  }
  if (name === null) {
    return {
      name: null,
      topicId,
      error: { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "a topic name or a topic id is required" },
    };
  }
  return { name, topicId: broker.topics.get(name)?.id ?? ZERO_UUID };
}

function result(target: Target, errorCode: number, errorMessage: string | null): DeletableTopicResult {
  return { name: target.name, topicId: target.topicId, errorCode, errorMessage };
}

export default defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
  apiKey: 20,
  name: "DeleteTopics",
  versions: [0, 6],
  requestSchema: DeleteTopicsRequestSchema,
  responseSchema: DeleteTopicsResponseSchema,
  async handle(ctx, request) {
    const { broker } = ctx;
    const mentions =
      ctx.apiVersion >= 6 ? request.topics : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const findById = idLookup(broker);
    const targets = mentions.map((mention, position): Target => {
      if (position < DELETE_TOPICS_TOPICS_MAX) return resolve(broker, findById, mention.name, mention.topicId);
      return {
        name: mention.name,
        topicId: mention.topicId,
        error: {
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: `at most ${DELETE_TOPICS_TOPICS_MAX} topics per DeleteTopics request; delete the rest in another`,
        },
      };
    });
    const mentionCounts = new Map<string, number>();
    for (const target of targets) {
      if (target.error === undefined && target.name !== null) {
        mentionCounts.set(target.name, (mentionCounts.get(target.name) ?? 0) + 1);
      }
    }

    const removals: Array<Promise<void>> = [];
    const responses = targets.map((target) => {
      if (target.error !== undefined) return result(target, target.error.errorCode, target.error.errorMessage);
      const name = target.name!;
      if (mentionCounts.get(name)! > 1) {
        return result(target, ErrorCode.INVALID_REQUEST, `topic ${name} appears more than once in the request`);
      }
      if (!authorized(ctx, AclOperation.DELETE, AclResourceType.TOPIC, name)) {
        return result(target, ErrorCode.TOPIC_AUTHORIZATION_FAILED, `deleting topic ${name} needs DELETE on it`);
      }
      if (broker.topics.get(name) === undefined) {
        return result(target, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
      }
      try {
        const removal = broker.topics.delete(name).catch((error: unknown) => {
          broker.logger.warn({ topic: name, err: error }, "deleted topic's files could not all be removed");
        });
        removals.push(removal);
        return result(target, ErrorCode.NONE, null);
      } catch (error) {
        if (!(error instanceof TopicError)) throw error;
        return result(target, error.errorCode, error.message);
      }
    });
    await Promise.all(removals);
    return { throttleTimeMs: 0, responses };
  },
  errorResponse(request, errorCode) {
    const mentions =
      request.topics.length > 0 ? request.topics : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    return {
      throttleTimeMs: 0,
      responses: mentions.map((mention) => ({
        name: mention.name,
        topicId: mention.topicId,
        errorCode,
        errorMessage: null,
      })),
    };
  },
});
