// Runs the whole message board system in the test's process, exactly as `sluice up` starts it (the same code path),
// on free ports and in a temporary data directory, and talks to it over real HTTP.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";

import pino from "pino";

import { parseArguments } from "../../../src/cli/args.js";
import { resolveUpConfig, upOptions } from "../../../src/cli/up/config.js";
import { startSystem, type RunningSystem } from "../../../src/cli/up/system.js";
import { eventually } from "../../helpers/broker.js";

export interface BoardForTest {
  readonly url: string;
  readonly system: RunningSystem;
  readonly dataDir: string;
}

/**
 * Starts the system with `sluice up` flags, on free ports and in a fresh data directory unless given one; it is
 * stopped when the test ends.
 */
export async function boardForTest(
  t: TestContext,
  options: { flags?: readonly string[]; dataDir?: string } = {},
): Promise<BoardForTest> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "sluice-board-"));
  const argv = [
    "--port",
    "0",
    "--broker-port",
    "0",
    "--registry-port",
    "0",
    "--data-dir",
    dataDir,
    ...(options.flags ?? []),
  ];
  const parsed = parseArguments(argv, { options: upOptions, positionals: [] });
  if (parsed.help) throw new Error("unexpected --help");
  const config = resolveUpConfig(parsed.options);
  const logger = pino({ level: process.env.SLUICE_TEST_LOG_LEVEL ?? "silent" }, pino.destination(2));
  let system: RunningSystem | null = null;
  t.after(async () => {
    await system?.stop();
    // Removed only after the system stopped writing to it.
    if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
  });
  system = await startSystem(config, {}, logger);
  const url = system.addresses.http;
  if (url === null) throw new Error("the system has no HTTP server");
  return { url, system, dataDir };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** Sends a request and reads its JSON answer (body null when it has none). */
export async function request(
  url: string,
  init: { method?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...init.headers };
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers["content-type"] ??= "application/json";
  }
  const response = await fetch(url, { method: init.method ?? (body === undefined ? "GET" : "POST"), headers, body });
  const text = await response.text();
  let parsed: unknown = null;
  if (text !== "") {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

export interface MessageBody {
  id: string;
  text: string;
  template: string;
  author: string | null;
  acceptedAt: string;
  storedAt: string;
  cursor: string;
}

export interface PageBody {
  messages: MessageBody[];
  nextCursor: string | null;
}

/** Every stored message, newest first, read page by page through the API. */
export async function allMessages(
  url: string,
  pageSize = 100,
  headers: Record<string, string> = {},
): Promise<MessageBody[]> {
  const messages: MessageBody[] = [];
  let before: string | null = null;
  for (;;) {
    const query: string = before === null ? `limit=${pageSize}` : `limit=${pageSize}&before=${before}`;
    const response = await request(`${url}/api/messages?${query}`, { headers });
    if (response.status !== 200)
      throw new Error(`listing answered ${response.status}: ${JSON.stringify(response.body)}`);
    const page = response.body as PageBody;
    messages.push(...page.messages);
    if (page.nextCursor === null) return messages;
    before = page.nextCursor;
  }
}

/** Waits until every id is stored; fails naming the ones still missing. */
export async function waitUntilStored(
  url: string,
  ids: readonly string[],
  timeoutMs = 20_000,
  headers: Record<string, string> = {},
): Promise<MessageBody[]> {
  let missing: string[] = [...ids];
  let stored: MessageBody[] = [];
  const done = await eventually(
    async () => {
      stored = await allMessages(url, 100, headers);
      const storedIds = new Set(stored.map((message) => message.id));
      missing = ids.filter((id) => !storedIds.has(id));
      return missing.length === 0;
    },
    timeoutMs,
    100,
  );
  if (!done) throw new Error(`${missing.length} of ${ids.length} messages were not stored: ${missing.join(", ")}`);
  return stored;
}
