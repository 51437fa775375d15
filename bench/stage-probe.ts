// A probe that a bench loads into the process it measures (`node --import tsx --import ./bench/stage-probe.ts …`,
// with an IPC channel): it subscribes to the toolkit's diagnostics channels (src/toolkit/diagnostics.ts) and notes
// the moment each record passed each stage, by record key. The bench asks for the notes over IPC ("stages"), and
// may ask to be told at once when a consumer group commits a record with a given key ("watch"), so that it need not
// poll to learn when an event was handled.

import { subscribe } from "node:diagnostics_channel";

import {
  CONSUMER_COMMITTED_CHANNEL,
  CONSUMER_RECEIVED_CHANNEL,
  RELAY_ACKNOWLEDGED_CHANNEL,
  RELAY_CLAIMED_CHANNEL,
  type ConsumerStageMessage,
  type RelayStageMessage,
} from "../src/toolkit/diagnostics.js";

export type ProbeStage = "written" | "claimed" | "acknowledged" | "received" | "committed";

/** One record at one stage: where (an outbox's schema or a consumer group), which record, and when. */
export interface StageNote {
  stage: ProbeStage;
  where: string;
  topic: string;
  key: string;
  atMs: number;
}

export type ProbeRequest = { type: "stages" } | { type: "watch"; group: string; key: string };
export type ProbeAnswer =
  | { type: "stages"; notes: StageNote[]; dropped: number }
  | { type: "committed"; group: string; key: string; atMs: number };

/** Notes kept at most; later ones are counted as dropped. */
const NOTES_MAX = 500_000;

const notes: StageNote[] = [];
let dropped = 0;
/** Keys a bench waits for, by consumer group. */
const watched = new Map<string, Set<string>>();
/** When each group last committed each key, for a watch that comes after the commit; the oldest go first. */
const committedAt = new Map<string, number>();
const COMMITTED_REMEMBERED_MAX = 10_000;

function note(entry: StageNote): void {
  if (notes.length < NOTES_MAX) notes.push(entry);
  else dropped += 1;
}

function keyText(key: Buffer | null): string {
  return key === null ? "" : key.toString("utf8");
}

subscribe(RELAY_CLAIMED_CHANNEL, (message) => {
  const { schema, records, atMs } = message as RelayStageMessage;
  for (const record of records) {
    const key = keyText(record.key);
    // The row's created_at is its transaction's now(): when the business write began, to the millisecond.
    note({ stage: "written", where: schema, topic: record.topic, key, atMs: record.createdAt.getTime() });
    note({ stage: "claimed", where: schema, topic: record.topic, key, atMs });
  }
});

subscribe(RELAY_ACKNOWLEDGED_CHANNEL, (message) => {
  const { schema, records, atMs } = message as RelayStageMessage;
  for (const record of records) {
    note({ stage: "acknowledged", where: schema, topic: record.topic, key: keyText(record.key), atMs });
  }
});

subscribe(CONSUMER_RECEIVED_CHANNEL, (message) => {
  const { groupId, records, atMs } = message as ConsumerStageMessage;
  for (const record of records) {
    note({ stage: "received", where: groupId, topic: record.topic, key: keyText(record.key), atMs });
  }
});

subscribe(CONSUMER_COMMITTED_CHANNEL, (message) => {
  const { groupId, records, atMs } = message as ConsumerStageMessage;
  const keys = watched.get(groupId);
  for (const record of records) {
    const key = keyText(record.key);
    note({ stage: "committed", where: groupId, topic: record.topic, key, atMs });
    if (keys?.delete(key) === true) process.send?.({ type: "committed", group: groupId, key, atMs } as ProbeAnswer);
    committedAt.set(`${groupId}\u0000${key}`, atMs);
    if (committedAt.size > COMMITTED_REMEMBERED_MAX) committedAt.delete(committedAt.keys().next().value as string);
  }
});

if (process.send !== undefined) {
  process.on("message", (request: ProbeRequest) => {
    if (request.type === "stages") {
      process.send?.({ type: "stages", notes, dropped } as ProbeAnswer);
    } else if (request.type === "watch") {
      const atMs = committedAt.get(`${request.group}\u0000${request.key}`);
      if (atMs !== undefined) {
        process.send?.({ type: "committed", group: request.group, key: request.key, atMs } as ProbeAnswer);
        return;
      }
      let keys = watched.get(request.group);
      if (keys === undefined) {
        keys = new Set();
        watched.set(request.group, keys);
      }
      keys.add(request.key);
    }
  });
  // The channel must not keep the process alive once it has been told to stop.
  process.channel?.unref();
}
