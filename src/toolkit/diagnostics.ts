// Diagnostics channels (node:diagnostics_channel) at the points an event passes on its way from an outbox to a
// consumer's commit, so that a probe loaded into the process (the jobs bench's, bench/stage-probe.ts) can time each
// stage. Nothing is built or published while no one subscribes. A message holds the objects the toolkit holds at
// that moment; a subscriber reads them and must not change them.

import { channel } from "node:diagnostics_channel";
import { performance } from "node:perf_hooks";

import type { OutboxRecord } from "../store/index.js";
import type { ConsumerRecord } from "./kafka/record.js";

/** The relay claimed these outbox rows (the claim's statement answered). */
export const RELAY_CLAIMED_CHANNEL = "sluice:outbox-relay:claimed";
/** The broker acknowledged these outbox rows (acks=-1: after its fsync), before the relay marks them. */
export const RELAY_ACKNOWLEDGED_CHANNEL = "sluice:outbox-relay:acknowledged";
/** An inbox consumer was handed these records of one partition, fetched from the broker. */
export const CONSUMER_RECEIVED_CHANNEL = "sluice:consumer:received";
/** An inbox consumer's transaction with these records' handlers committed (before their offset is committed). */
export const CONSUMER_COMMITTED_CHANNEL = "sluice:consumer:committed";

export interface RelayStageMessage {
  /** The database schema of the outbox. */
  schema: string;
  records: readonly OutboxRecord[];
  /** Wall-clock time with sub-millisecond resolution (performance.timeOrigin + performance.now()). */
  atMs: number;
}

export interface ConsumerStageMessage {
  groupId: string;
  records: readonly ConsumerRecord[];
  /** Wall-clock time with sub-millisecond resolution (performance.timeOrigin + performance.now()). */
  atMs: number;
}

const relayClaimed = channel(RELAY_CLAIMED_CHANNEL);
const relayAcknowledged = channel(RELAY_ACKNOWLEDGED_CHANNEL);
const consumerReceived = channel(CONSUMER_RECEIVED_CHANNEL);
const consumerCommitted = channel(CONSUMER_COMMITTED_CHANNEL);

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function publishRelayStage(
  stage: "claimed" | "acknowledged",
  schema: string,
  records: readonly OutboxRecord[],
): void {
  const target = stage === "claimed" ? relayClaimed : relayAcknowledged;
  if (!target.hasSubscribers || records.length === 0) return;
  target.publish({ schema, records, atMs: nowMs() } satisfies RelayStageMessage);
}

/** recordsOf is called only when someone subscribes, so that an unobserved consumer builds no list. */
export function publishConsumerStage(
  stage: "received" | "committed",
  groupId: string,
  recordsOf: () => readonly ConsumerRecord[],
): void {
  const target = stage === "received" ? consumerReceived : consumerCommitted;
  if (!target.hasSubscribers) return;
  const records = recordsOf();
  if (records.length > 0) target.publish({ groupId, records, atMs: nowMs() } satisfies ConsumerStageMessage);
}
