// The dead letters API: which topics have dead letters, one topic's dead letters (why each failed, how often, from
// where and when), and redriving one, a selection or a time range back to the original topic with the toolkit's
// redrive, with a dry run that says what would be sent.

import type { FastifyInstance } from "fastify";

import { validationFailed } from "../gateway/errors.js";
import { DEAD_LETTER_TOPIC_SUFFIX, type DeadLetter } from "../toolkit/dead-letter.js";
import {
  listDeadLetters,
  redriveDeadLetters,
  REDRIVE_EVENT_IDS_MAX,
  DEAD_LETTER_LIMIT_MAX,
} from "../toolkit/redrive.js";
import { actorOf, type ConsoleContext } from "./context.js";
import { decodePayload } from "./decode.js";
import { unavailableWithout } from "./errors.js";
import { integerOr, objectBody, optionalBoolean, optionalTimestamp, topicName, type Fields } from "./params.js";
import { listTopicRows } from "./topics.js";

export const DEAD_LETTER_TIMEOUT_MS = 10_000;

function letterView(letter: DeadLetter) {
  return {
    eventId: letter.eventId,
    error: letter.error,
    errorCode: letter.errorCode,
    attempts: letter.attempts,
    consumerGroup: letter.consumerGroup,
    time: letter.time.toISOString(),
    originalTopic: letter.originalTopic,
    originalPartition: letter.originalPartition,
    originalOffset: letter.originalOffset,
    deadLetterPartition: letter.deadLetterPartition,
    deadLetterOffset: letter.deadLetterOffset,
    valueDropped: letter.valueDropped,
    key: decodePayload(letter.key),
    value: decodePayload(letter.value),
    headers: letter.headers,
  };
}

function queryOf(fields: Fields, defaultLimit: number) {
  const since = optionalTimestamp(fields, "since");
  const until = optionalTimestamp(fields, "until");
  const eventIds = fields.eventIds;
  if (
    eventIds !== undefined &&
    (!Array.isArray(eventIds) ||
      eventIds.length > REDRIVE_EVENT_IDS_MAX ||
      eventIds.some((id) => typeof id !== "string"))
  ) {
    throw validationFailed("eventIds", `eventIds must be a list of at most ${REDRIVE_EVENT_IDS_MAX} event ids`);
  }
  return {
    since: since === undefined ? undefined : new Date(since),
    until: until === undefined ? undefined : new Date(until),
    eventIds: eventIds as string[] | undefined,
    limit: integerOr(fields, "limit", defaultLimit, 1, DEAD_LETTER_LIMIT_MAX),
    timeoutMs: DEAD_LETTER_TIMEOUT_MS,
  };
}

export async function deadLetterRoutes(app: FastifyInstance, context: ConsoleContext): Promise<void> {
  const toolkit = () => {
    if (context.toolkitKafka === null)
      throw unavailableWithout("toolkit client for dead letters", "sluice up or sluice console");
    return context.toolkitKafka;
  };

  app.get("/api/dead-letters", { preHandler: context.view }, async () => {
    const rows = await listTopicRows(context, false);
    return {
      topics: rows
        .filter((row) => row.name.endsWith(DEAD_LETTER_TOPIC_SUFFIX))
        .map((row) => ({
          topic: row.name.slice(0, -DEAD_LETTER_TOPIC_SUFFIX.length),
          deadLetterTopic: row.name,
          messages: row.messages,
        })),
    };
  });

  app.get("/api/dead-letters/:topic", { preHandler: context.view }, async (request) => {
    const topic = topicName((request.params as Fields).topic);
    const letters = await listDeadLetters(toolkit(), topic, queryOf(request.query as Fields, 100));
    return { topic, deadLetters: letters.map(letterView) };
  });

  app.post("/api/dead-letters/:topic/redrive", { preHandler: context.change }, async (request) => {
    const topic = topicName((request.params as Fields).topic);
    const body = objectBody(request.body);
    const query = queryOf(body, 1_000);
    const dryRun = optionalBoolean(body, "dryRun") ?? false;
    const run = () => redriveDeadLetters(toolkit(), topic, { ...query, dryRun });
    const report = dryRun
      ? await run()
      : await context.audit.record(
          actorOf(request),
          "dead-letters.redrive",
          topic,
          { eventIds: query.eventIds?.length ?? null, since: query.since, until: query.until },
          run,
        );
    return {
      topic,
      dryRun: report.dryRun,
      redriven: report.deadLetters.map(letterView),
      skipped: report.skipped.map(letterView),
    };
  });
}
