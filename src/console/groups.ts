// The consumer groups API: groups by state, one group's members, assignments, committed offsets and lag; offset
// resets with a preview (refused while the group has members, since a live member would overwrite them with its
// next commit); and deleting a group.

import type { FastifyInstance } from "fastify";

import { validationFailed } from "../gateway/errors.js";
import type { CommittedOffset, GroupDescription, OffsetToCommit } from "../kafka/client/index.js";
import { actorOf, type ConsoleContext } from "./context.js";
import { conflict, notFound } from "./errors.js";
import {
  objectBody,
  optionalBoolean,
  optionalInteger,
  optionalTimestamp,
  requiredString,
  topicName,
  type Fields,
} from "./params.js";

const GROUP_ID_CHARS_MAX = 255;
const OFFSET_MAX = Number.MAX_SAFE_INTEGER;

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly committed: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly lag: number;
}

export type ResetTarget =
  | { readonly to: "earliest" }
  | { readonly to: "latest" }
  | { readonly to: "timestamp"; readonly timestamp: number }
  | { readonly to: "offset"; readonly offset: number }
  | { readonly to: "shift"; readonly by: number };

function groupIdOf(params: unknown): string {
  const groupId = (params as Fields).group;
  if (typeof groupId !== "string" || groupId === "" || groupId.length > GROUP_ID_CHARS_MAX) {
    throw validationFailed("group", `the group id must be 1 to ${GROUP_ID_CHARS_MAX} characters`);
  }
  return groupId;
}

async function describeGroup(context: ConsoleContext, groupId: string): Promise<GroupDescription> {
  const [group] = await context.kafka.admin.describeGroups([groupId]);
  if (group === undefined) throw notFound(`there is no group "${groupId}"`);
  if (group.error !== null) throw group.error;
  return group;
}

/** Committed offsets with the end of each partition; partitions of deleted topics are left out. */
export async function groupLag(
  context: ConsoleContext,
  committed: readonly CommittedOffset[],
): Promise<PartitionLag[]> {
  const topics = [...new Set(committed.map((entry) => entry.topic))];
  const ends = new Map<string, { earliest: number; latest: number }>();
  for (const topic of topics) {
    try {
      for (const entry of await context.kafka.admin.topicOffsets(topic)) ends.set(`${topic}:${entry.partition}`, entry);
    } catch (error) {
      context.logger.debug({ err: error, topic }, "console: no offsets for a group's topic");
    }
  }
  return committed
    .filter((entry) => entry.offset >= 0 && ends.has(`${entry.topic}:${entry.partition}`))
    .map((entry) => {
      const end = ends.get(`${entry.topic}:${entry.partition}`)!;
      return {
        topic: entry.topic,
        partition: entry.partition,
        committed: entry.offset,
        logStartOffset: end.earliest,
        highWatermark: end.latest,
        lag: Math.max(0, end.latest - entry.offset),
      };
    })
    .sort((left, right) => left.topic.localeCompare(right.topic) || left.partition - right.partition);
}

function resetTargetOf(body: Fields): ResetTarget {
  const to = requiredString(body, "to", 20);
  switch (to) {
    case "earliest":
    case "latest":
      return { to };
    case "timestamp": {
      const timestamp = optionalTimestamp(body, "timestamp");
      if (timestamp === undefined) throw validationFailed("timestamp", "timestamp is required with to=timestamp");
      return { to, timestamp };
    }
    case "offset": {
      const offset = optionalInteger(body, "offset", 0, OFFSET_MAX);
      if (offset === undefined) throw validationFailed("offset", "offset is required with to=offset");
      return { to, offset };
    }
    case "shift": {
      const by = optionalInteger(body, "by", -OFFSET_MAX, OFFSET_MAX);
      if (by === undefined) throw validationFailed("by", "by is required with to=shift (negative moves back)");
      return { to, by };
    }
    default:
      throw validationFailed("to", "to must be earliest, latest, timestamp, offset or shift");
  }
}

export interface ResetPreviewRow {
  readonly topic: string;
  readonly partition: number;
  /** The committed offset now, or null when the group has none for the partition. */
  readonly current: number | null;
  readonly next: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
}

/** The offsets a reset would commit: each kept inside the partition's log start and end. */
export async function previewReset(
  context: ConsoleContext,
  groupId: string,
  topic: string,
  partitions: readonly number[] | undefined,
  target: ResetTarget,
): Promise<ResetPreviewRow[]> {
  const offsets = await context.kafka.admin.topicOffsets(topic);
  const chosen = partitions === undefined ? offsets : offsets.filter((entry) => partitions.includes(entry.partition));
  for (const partition of partitions ?? []) {
    if (!offsets.some((entry) => entry.partition === partition)) {
      throw notFound(`topic "${topic}" has no partition ${partition}`);
    }
  }
  const committed = new Map(
    (await context.kafka.admin.fetchGroupOffsets(groupId, [{ topic }]))
      .filter((entry) => entry.offset >= 0)
      .map((entry) => [entry.partition, entry.offset]),
  );
  let byTime: Map<number, number> | null = null;
  if (target.to === "timestamp") {
    const answers = await context.kafka.admin.listOffsets(
      chosen.map((entry) => ({ topic, partition: entry.partition, spec: { timestamp: target.timestamp } })),
    );
    byTime = new Map(answers.map((answer) => [answer.partition, answer.offset]));
  }
  return chosen.map((entry) => {
    const current = committed.get(entry.partition) ?? null;
    let next: number;
    switch (target.to) {
      case "earliest":
        next = entry.earliest;
        break;
      case "latest":
        next = entry.latest;
        break;
      case "timestamp": {
        const found = byTime!.get(entry.partition) ?? -1;
        next = found < 0 ? entry.latest : found;
        break;
      }
      case "offset":
        next = target.offset;
        break;
      case "shift":
        next = (current ?? entry.latest) + target.by;
        break;
    }
    next = Math.min(Math.max(next, entry.earliest), entry.latest);
    return {
      topic,
      partition: entry.partition,
      current,
      next,
      logStartOffset: entry.earliest,
      highWatermark: entry.latest,
    };
  });
}

export async function groupRoutes(app: FastifyInstance, context: ConsoleContext): Promise<void> {
  app.get("/api/groups", { preHandler: context.view }, async () => {
    const listed = await context.kafka.admin.listGroups();
    const ids = listed.map((group) => group.groupId).sort();
    const described = ids.length === 0 ? [] : await context.kafka.admin.describeGroups(ids);
    const latest = context.sampler.samples().at(-1);
    return {
      groups: described.map((group) => ({
        groupId: group.groupId,
        state: group.state,
        protocolType: group.protocolType,
        protocol: group.protocol,
        members: group.members.length,
        lag: latest?.groupLag[group.groupId] ?? null,
      })),
    };
  });

  app.get("/api/groups/:group", { preHandler: context.view }, async (request) => {
    const groupId = groupIdOf(request.params);
    const group = await describeGroup(context, groupId);
    const committed = await context.kafka.admin.fetchGroupOffsets(groupId);
    if (group.state === "Dead" && committed.length === 0) throw notFound(`there is no group "${groupId}"`);
    const offsets = await groupLag(context, committed);
    return {
      groupId,
      state: group.state,
      protocolType: group.protocolType,
      protocol: group.protocol,
      members: group.members.map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        assignment: member.assignment,
      })),
      offsets,
      lag: offsets.reduce((sum, entry) => sum + entry.lag, 0),
      lagHistory: context.sampler
        .samples()
        .map((sample) => ({ time: sample.time, lag: sample.groupLag[groupId] ?? null })),
    };
  });

  app.post("/api/groups/:group/reset", { preHandler: context.change }, async (request) => {
    const groupId = groupIdOf(request.params);
    const body = objectBody(request.body);
    const topic = topicName(body.topic);
    const partitionsValue = body.partitions;
    if (
      partitionsValue !== undefined &&
      (!Array.isArray(partitionsValue) || partitionsValue.some((entry) => !Number.isInteger(entry) || entry < 0))
    ) {
      throw validationFailed("partitions", "partitions must be a list of partition numbers");
    }
    const partitions = partitionsValue as number[] | undefined;
    const target = resetTargetOf(body);
    const dryRun = optionalBoolean(body, "dryRun") ?? false;
    const group = await describeGroup(context, groupId);
    const preview = await previewReset(context, groupId, topic, partitions, target);
    const blocked =
      group.members.length > 0
        ? `group "${groupId}" has ${group.members.length} member(s) (state ${group.state}); stop its consumers ` +
          "first, since a live member would overwrite the reset offsets with its next commit"
        : null;
    if (dryRun) return { groupId, dryRun, applied: false, blockedBy: blocked, offsets: preview };
    if (blocked !== null) throw conflict(blocked);
    const commits: OffsetToCommit[] = preview.map((row) => ({ topic, partition: row.partition, offset: row.next }));
    await context.audit.record(actorOf(request), "group.reset", groupId, { topic, target, partitions }, () =>
      context.kafka.admin.commitGroupOffsets(groupId, commits),
    );
    return { groupId, dryRun, applied: true, blockedBy: null, offsets: preview };
  });

  app.delete("/api/groups/:group", { preHandler: context.change }, async (request) => {
    const groupId = groupIdOf(request.params);
    await context.audit.record(actorOf(request), "group.delete", groupId, {}, async () => {
      const [result] = await context.kafka.admin.deleteGroups([groupId]);
      if (result?.error) throw result.error;
    });
    return { deleted: groupId };
  });
}
