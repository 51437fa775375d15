// The documentation stays true to the repository: every relative link and file path it names exists (and nothing
// points outside the repository, where users have nothing), and every default it states is the code's default.

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { DEFAULT_MESSAGE_TEXT_CHARS_MAX, checkText } from "../../src/apps/messages/message.js";
import { brokerOptions } from "../../src/cli/commands/broker.js";
import { DEFAULT_UP_DATABASE_CONNECT_TIMEOUT_MS, resolveUpConfig, UP_SETTINGS } from "../../src/cli/up/config.js";
import { readSubprotocols } from "../../src/gateway/websocket/protocol.js";
import {
  DEFAULT_GROUP_COMMIT_BATCH_MAX,
  DEFAULT_GROUP_COMMIT_QUEUE_MAX,
  DEFAULT_GROUP_COMMIT_WAIT_MS,
  GROUP_COMMIT_BATCH_LIMIT,
} from "../../src/toolkit/group-commit.js";
import * as kafkaClientOptions from "../../src/kafka/client/options.js";
import * as groupOptions from "../../src/kafka/client/group/options.js";
import { temporaryDir } from "../helpers/environment.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DOCS = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];
const read = (doc: string): string => readFileSync(join(ROOT, doc), "utf8");

/** Top-level folders whose paths the docs name in backticks, such as `src/broker/config.ts`. */
const PATH_PATTERN = /`((?:\.\.\/)*(?:src|test|examples|docs|bench|scripts|web|k8s|k8s-prod|docker|shared)\/[^`\s]*)`/g;

/** A path as written in TypeScript imports (`index.js`) also names the source file beside it (`index.ts`). */
function pathExists(path: string): boolean {
  return existsSync(path) || (path.endsWith(".js") && existsSync(path.replace(/\.js$/, ".ts")));
}

test("every relative link and file path in the README and docs/ exists in the repository", () => {
  const missing: string[] = [];
  for (const doc of DOCS) {
    const text = read(doc);
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const path = target!.split("#")[0]!;
      if (path === "" || /^[a-z]+:/.test(path)) continue;
      if (!pathExists(resolve(ROOT, dirname(doc), path))) missing.push(`${doc}: link ${target}`);
    }
    for (const [, written] of text.matchAll(PATH_PATTERN)) {
      const path = written!.replace(/[:#].*$/, "");
      if (/[<>*…{}]/.test(path)) continue;
      if (!pathExists(resolve(ROOT, path)) && !pathExists(resolve(ROOT, dirname(doc), path))) {
        missing.push(`${doc}: path ${written}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});

test("the docs cite nothing outside the repository that users do not have", () => {
  for (const doc of DOCS) {
    const text = read(doc);
    assert.doesNotMatch(text, /\.\.\/shared\//, `${doc} points outside the repository`);
    assert.doesNotMatch(text, /CLIENT-NOTES/, `${doc} cites notes that are not in the repository`);
  }
});

/** The first backticked value in a Markdown table cell, or null when the cell states no literal default. */
function literal(cell: string | undefined): string | null {
  const match = /^\s*`([^`]+)`/.exec(cell ?? "");
  return match === null ? null : match[1]!;
}

function tableRows(text: string): string[][] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("|") && !/^\|\s*-/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

test("the README's broker flags table states the command's defaults", () => {
  const section = read("README.md").split("### Running it")[1]!.split("Every flag can also be set")[0]!;
  const options = brokerOptions as Record<string, { defaultLabel?: string; defaultValue: unknown }>;
  let checked = 0;
  for (const [flags, defaultCell] of tableRows(section)) {
    const stated = literal(defaultCell);
    const flag = literal(flags);
    if (stated === null || flag === null || !flag.startsWith("--")) continue;
    const key = flag.slice(2).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
    const option = options[key];
    if (option === undefined) continue;
    assert.equal(stated, option.defaultLabel ?? String(option.defaultValue), `README: default of ${flag}`);
    checked++;
  }
  assert.ok(checked >= 8, `checked ${checked} broker defaults`);
});

test("docs/messages.md's settings table states sluice up's defaults", () => {
  const settings = UP_SETTINGS as Record<string, { defaultValue: unknown; defaultLabel?: string }>;
  let checked = 0;
  for (const [names, , defaultCell] of tableRows(read("docs/messages.md"))) {
    const key = /\/ `([a-zA-Z]+)`/.exec(names ?? "")?.[1];
    const stated = literal(defaultCell);
    if (key === undefined || stated === null || settings[key] === undefined) continue;
    const setting = settings[key]!;
    assert.equal(stated, setting.defaultLabel ?? String(setting.defaultValue), `docs/messages.md: default of ${key}`);
    checked++;
  }
  assert.ok(checked >= 12, `checked ${checked} settings`);
});

test("docs/kafka-client.md's options table states the client's defaults", () => {
  const constants: Record<string, number> = {
    connectTimeoutMs: kafkaClientOptions.CONNECT_TIMEOUT_MS,
    requestTimeoutMs: kafkaClientOptions.REQUEST_TIMEOUT_MS,
    inFlightRequestsMax: kafkaClientOptions.IN_FLIGHT_REQUESTS_MAX,
    queuedRequestsMax: kafkaClientOptions.QUEUED_REQUESTS_MAX,
    responseBytesMax: kafkaClientOptions.RESPONSE_BYTES_MAX,
    sendBufferBytesMax: kafkaClientOptions.SEND_BUFFER_BYTES_MAX,
    retriesMax: kafkaClientOptions.RETRIES_MAX,
    metadataMaxAgeMs: kafkaClientOptions.METADATA_MAX_AGE_MS,
    sessionTimeoutMs: groupOptions.GROUP_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: groupOptions.GROUP_HEARTBEAT_INTERVAL_MS,
    idleHeartbeatIntervalMs: groupOptions.GROUP_SESSION_TIMEOUT_MS / groupOptions.GROUP_IDLE_HEARTBEAT_SESSION_FRACTION,
    rebalanceTimeoutMs: groupOptions.GROUP_REBALANCE_TIMEOUT_MS,
    maxWaitMs: groupOptions.GROUP_FETCH_MAX_WAIT_MS,
    idleMaxWaitMs: groupOptions.GROUP_FETCH_IDLE_MAX_WAIT_MS,
  };
  const stated = new Map(
    tableRows(read("docs/kafka-client.md")).map(([name, value]) => [literal(name), literal(value)]),
  );
  for (const [name, value] of Object.entries(constants)) {
    assert.equal(stated.get(name), String(value), `docs/kafka-client.md: default of ${name}`);
  }
});

test("docs/toolkit-publishing.md's group commit table states the toolkit's defaults", () => {
  const section = read("docs/toolkit-publishing.md").split("### Group commit for APIs")[1]!.split("\n## ")[0]!;
  const stated = new Map(tableRows(section).map(([name, value]) => [literal(name), literal(value)]));
  assert.equal(stated.get("batchMax"), String(DEFAULT_GROUP_COMMIT_BATCH_MAX));
  assert.equal(stated.get("waitMs"), String(DEFAULT_GROUP_COMMIT_WAIT_MS));
  assert.equal(stated.get("queueMax"), String(DEFAULT_GROUP_COMMIT_QUEUE_MAX));
});

// Defaults stated in prose: (doc, the sentence as the doc must say it, from the code's constant).
const PROSE_DEFAULTS: ReadonlyArray<readonly [string, string]> = [
  ["docs/messages.md", `1 to ${DEFAULT_MESSAGE_TEXT_CHARS_MAX.toLocaleString("en-US")} characters after trimming`],
  ["docs/messages.md", `within the connect timeout (${DEFAULT_UP_DATABASE_CONNECT_TIMEOUT_MS / 1000} s`],
  ["docs/messages.md", `caps a group (${DEFAULT_GROUP_COMMIT_BATCH_MAX} posts by default)`],
  ["docs/messages.md", `(${DEFAULT_GROUP_COMMIT_WAIT_MS} by default: it takes what queued up`],
  ["docs/toolkit-publishing.md", `(up to ${GROUP_COMMIT_BATCH_LIMIT.toLocaleString("en-US")})`],
  ["docs/gateway.md", messageOf(() => checkText("text", "x".repeat(DEFAULT_MESSAGE_TEXT_CHARS_MAX + 1), 1000))],
];

function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected an error");
}

test("defaults stated in the docs' prose are the code's", () => {
  for (const [doc, phrase] of PROSE_DEFAULTS) assert.ok(read(doc).includes(phrase), `${doc} says "${phrase}"`);
});

test("docs/websocket.md describes the subprotocol answer the gateway gives", () => {
  const doc = read("docs/websocket.md");
  assert.equal(readSubprotocols(new Set(["chat", "sluice.v1"])).selected, "sluice.v1");
  assert.equal(readSubprotocols(new Set(["chat"])).selected, "chat");
  assert.match(
    doc,
    /answers with `sluice\.v1` when it is offered \(otherwise with\s+the first other subprotocol offered/,
  );
  assert.doesNotMatch(doc, /must offer `sluice\.v1`/);
});

test("the sluice.json example in docs/messages.md is a valid config that runs on its own", (t) => {
  const block = /```json\n([\s\S]*?)```/.exec(read("docs/messages.md"))?.[1];
  assert.ok(block !== undefined);
  const path = join(temporaryDir(t), "sluice.json");
  writeFileSync(path, block);
  const config = resolveUpConfig({ config: path } as Parameters<typeof resolveUpConfig>[0], {});
  assert.ok(config.roles.has("broker") || config.kafkaBrokers !== null, "it has a broker to talk to");
});
