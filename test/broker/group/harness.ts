// Shared set-up for the coordinator tests: a real GroupCoordinator on a clock the test moves, consumer protocol
// metadata encoded with the real codec, and a way to tell whether a JoinGroup or SyncGroup is still waiting.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import pino from "pino";
import { defaultBrokerConfig, type BrokerConfig } from "../../../src/broker/config.js";
import { GroupCoordinator } from "../../../src/broker/group/coordinator.js";
import type { GroupLimits } from "../../../src/broker/group/limits.js";
import type { JoinGroupInput, MemberProtocol } from "../../../src/broker/group/types.js";
import { encodeMessage } from "../../../src/kafka/protocol/codec.js";
import {
  ConsumerProtocolAssignmentSchema,
  ConsumerProtocolSubscriptionSchema,
} from "../../../src/kafka/protocol/messages/index.js";
import { Writer } from "../../../src/kafka/protocol/primitives.js";

export const SESSION_TIMEOUT_MS = 10_000;
export const REBALANCE_TIMEOUT_MS = 30_000;
export const START_MS = 1_700_000_000_000;

/** Topics the coordinator's topic callbacks know, with their partition counts. */
export const TOPICS = new Map([
  ["orders", 3],
  ["payments", 2],
]);

export interface Harness {
  coordinator: GroupCoordinator;
  config: BrokerConfig;
  /** Moves the clock and runs every deadline that became due. */
  advance(ms: number): void;
  nowMs(): number;
}

export interface HarnessOptions {
  config?: Partial<BrokerConfig>;
  limits?: Partial<GroupLimits>;
  dataDir?: string | null;
  startMs?: number;
}

export function harness(t: TestContext, options: HarnessOptions = {}): Harness {
  let nowMs = options.startMs ?? START_MS;
  const config: BrokerConfig = {
    ...defaultBrokerConfig(),
    groupMinSessionTimeoutMs: 1000,
    groupMaxSessionTimeoutMs: 60_000,
    groupInitialRebalanceDelayMs: 0,
    ...options.config,
  };
  const coordinator = new GroupCoordinator({
    dataDir: options.dataDir ?? null,
    config,
    logger: pino({ level: "silent" }),
    now: () => nowMs,
    topicExists: (name) => TOPICS.has(name),
    partitionCount: (name) => TOPICS.get(name),
    limits: options.limits,
  });
  t.after(() => coordinator.close());
  return {
    coordinator,
    config,
    advance(ms) {
      nowMs += ms;
      coordinator.runDueDeadlines();
    },
    nowMs: () => nowMs,
  };
}

/** Consumer protocol subscription metadata (version 1) for these topics, as a Java or kafkajs client sends it. */
export function subscription(topics: string[]): Buffer {
  const writer = new Writer();
  writer.int16(1);
  encodeMessage(ConsumerProtocolSubscriptionSchema, 1, { topics, userData: null, ownedPartitions: [] }, writer);
  return Buffer.from(writer.finish());
}

export function assignment(partitions: Array<{ topic: string; partitions: number[] }>): Buffer {
  const writer = new Writer();
  writer.int16(0);
  encodeMessage(ConsumerProtocolAssignmentSchema, 0, { assignedPartitions: partitions, userData: null }, writer);
  return Buffer.from(writer.finish());
}

export function protocols(names: string[], topics: string[] = ["orders"]): MemberProtocol[] {
  return names.map((name) => ({ name, metadata: subscription(topics) }));
}

export function joinInput(groupId: string, overrides: Partial<JoinGroupInput> = {}): JoinGroupInput {
  return {
    groupId,
    memberId: "",
    groupInstanceId: null,
    clientId: "client",
    clientHost: "/127.0.0.1",
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
    protocolType: "consumer",
    protocols: protocols(["range"]),
    requireKnownMemberId: false,
    ...overrides,
  };
}

/** Whether the promise has settled once pending callbacks have run. */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

export function temporaryDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "sluice-group-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
