// Wordium through `sluice up`'s entry point: the system started in the test's process with Wordium's roles (all,
// or some, as `--only` would), on free ports, and helpers that talk to it as a browser would: HTTP and WebSocket.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";

import { wordiumApp } from "../../../src/apps/wordium/manifest.js";
import { startSystem, type RunningSystem } from "../../../src/cli/up/system.js";
import { encodeEvent, type TopicDefinition } from "../../../src/toolkit/index.js";
import { eventually, kafkaFor } from "../../helpers/broker.js";
import { configFor, silent } from "../../cli/up/harness.js";
import { adminQuery, SERVER_URL, requirePostgresServer } from "../../store/harness.js";
import { request, type JsonResponse } from "../messages/harness.js";

export { request };

export const ADMIN = "root-admin";

export interface WordiumForTest {
  readonly url: string;
  /** ws://…/ws */
  readonly ws: string;
  readonly kafka: string;
  readonly dataDir: string;
  readonly system: RunningSystem;
}

export interface StartOptions {
  dataDir?: string;
  /** Only these of Wordium's roles (the broker runs unless flags name KAFKA brokers); all of them by default. */
  roles?: readonly string[];
  flags?: readonly string[];
  broker?: boolean;
}

/** Starts Wordium as `sluice up --apps wordium` does (or with some roles only); stopped when the test ends. */
export async function startWordium(t: TestContext, options: StartOptions = {}): Promise<WordiumForTest> {
  const ownDir = options.dataDir === undefined ? mkdtempSync(join(tmpdir(), "sluice-wordium-")) : null;
  const dataDir = options.dataDir ?? (ownDir as string);
  const flags = ["--admin-users", ADMIN, ...(options.flags ?? [])];
  const config = configFor(t, [wordiumApp], dataDir, flags);
  const roles = options.roles ?? wordiumApp.roles.map((role) => role.name);
  const system = await startSystem(
    { ...config, roles: new Set([...(options.broker === false ? [] : ["broker"]), ...roles]) },
    {},
    silent,
  );
  // The directory goes only after the system stopped: the broker writes its indexes there when it stops.
  t.after(async () => {
    await system.stop();
    if (ownDir !== null) rmSync(ownDir, { recursive: true, force: true });
  });
  const url = system.addresses.http as string;
  return { url, ws: `${url.replace(/^http/, "ws")}/ws`, kafka: system.addresses.kafka, dataDir, system };
}

export interface SignedUp {
  user: { id: string; username: string; email: string };
  token: string;
}

export async function signup(url: string, username: string): Promise<SignedUp> {
  const response = await request(`${url}/api/auth/signup`, {
    json: { username, email: `${username}@example.com`, password: "correct horse battery" },
  });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body as SignedUp;
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export interface ProfileBody {
  userId: string;
  username: string;
  postCount: number;
  followers: number;
  following: number;
}

/** Waits until the profile exists and `until` holds for it; fails the test with the last answer otherwise. */
export async function profileOnceConsumed(
  url: string,
  username: string,
  until: (profile: ProfileBody) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<ProfileBody> {
  let last: JsonResponse | null = null;
  const ok = await eventually(
    async () => {
      last = await request(`${url}/api/users/${username}`);
      return last.status === 200 && until(last.body as ProfileBody);
    },
    timeoutMs,
    50,
  );
  assert.ok(ok, `profile ${username}: ${JSON.stringify((last as JsonResponse | null)?.body)}`);
  return (last as unknown as JsonResponse).body as ProfileBody;
}

/** Publishes the same event (same id, key, value and headers) `times` times straight to its topic. */
export async function publishAgain<T>(
  kafka: string,
  topic: TopicDefinition<T>,
  value: T,
  eventId: string,
  times: number,
): Promise<void> {
  const event = await encodeEvent(topic, value, { eventId });
  const producer = kafkaFor({ address: kafka }).producer();
  await producer.connect();
  try {
    for (let i = 0; i < times; i += 1) {
      await producer.send({
        topic: topic.name,
        messages: [{ key: event.key, value: event.value, headers: event.headers }],
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Waits until a consumer group has committed every event on a topic (its lag is 0 on every partition). */
export async function caughtUp(kafka: string, groupId: string, topic: string, timeoutMs = 30_000): Promise<void> {
  const admin = kafkaFor({ address: kafka }).admin();
  await admin.connect();
  try {
    const ok = await eventually(
      async () => {
        const ends = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return ends.every((end) => {
          const partition = committed?.partitions.find((entry) => entry.partition === end.partition);
          // A partition the group never committed on is caught up only while it is empty (offset -1).
          const committedOffset = partition === undefined ? -1n : BigInt(partition.offset);
          return committedOffset >= BigInt(end.high) || (committedOffset === -1n && end.high === "0");
        });
      },
      timeoutMs,
      100,
    );
    assert.ok(ok, `group ${groupId} did not catch up on ${topic} within ${timeoutMs} ms`);
  } finally {
    await admin.disconnect();
  }
}

/**
 * A database of its own on the PostgreSQL server for this test, dropped after it, as a --database-url flag pair;
 * null (after a loud skip) when the server is unreachable.
 */
export async function serverDatabaseFlags(t: TestContext): Promise<string[] | null> {
  if (!(await requirePostgresServer(t))) return null;
  databaseCounter += 1;
  const database = `sluice_wordium_${process.pid}_${databaseCounter}`;
  await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${database}`);
  t.after(() => adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  const url = new URL(SERVER_URL);
  url.pathname = `/${database}`;
  return ["--database-url", url.toString()];
}

let databaseCounter = 0;
