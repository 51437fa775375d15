import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { ToolkitError, ToolkitErrorCode } from "../../src/toolkit/errors.js";
import type { ToolkitLogger } from "../../src/toolkit/logger.js";
import { createService, defineComponent, type Component } from "../../src/toolkit/service.js";

function recorder() {
  const events: string[] = [];
  const component = (name: string, options: { failStart?: boolean; failStop?: boolean; stopMs?: number } = {}) =>
    defineComponent({
      name,
      async start() {
        events.push(`start ${name}`);
        if (options.failStart === true) throw new Error(`${name} cannot start`);
      },
      async stop() {
        events.push(`stop ${name}`);
        if (options.stopMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.stopMs));
        if (options.failStop === true) throw new Error(`${name} cannot stop`);
      },
    });
  return { events, component };
}

function capturingLogger(): ToolkitLogger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (_details: object, message: string) => lines.push(`${level}: ${message}`);
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

test("components start in order, stop in reverse order, and readiness follows them", async () => {
  const { events, component } = recorder();
  let databaseReady = true;
  const database = defineComponent({ name: "database", ready: () => databaseReady });
  const service = createService({
    name: "orders",
    components: [database, component("relay"), component("consumer")],
    signals: [],
  });
  assert.equal(service.ready, false);
  assert.equal(service.state, "created");
  await service.start();
  assert.equal(service.state, "running");
  assert.equal(service.ready, true);
  databaseReady = false;
  assert.deepEqual(service.readiness(), {
    ready: false,
    state: "running",
    components: [
      { name: "database", ready: false },
      { name: "relay", ready: true },
      { name: "consumer", ready: true },
    ],
  });
  databaseReady = true;
  assert.equal(await service.stop(), true);
  assert.equal(service.state, "stopped");
  assert.equal(service.ready, false);
  assert.deepEqual(events, ["start relay", "start consumer", "stop consumer", "stop relay"]);
  assert.equal(await service.stop(), true, "stopping twice is harmless");
  await service.stopped;
  await assert.rejects(service.start(), /create a new service/);
});

test("when a component fails to start, those already started are stopped and start rejects", async () => {
  const { events, component } = recorder();
  const service = createService({
    name: "orders",
    components: [component("a"), component("b", { failStart: true }), component("c")],
    signals: [],
  });
  await assert.rejects(service.start(), (error: unknown) => {
    assert.ok(error instanceof ToolkitError);
    assert.equal(error.code, ToolkitErrorCode.SERVICE_START_FAILED);
    assert.match(error.message, /component "b" failed to start: Error: b cannot start/);
    return true;
  });
  assert.deepEqual(events, ["start a", "start b", "stop a"]);
  assert.equal(service.state, "failed");
  await service.stopped;
});

test("a component that fails to stop does not keep the others from stopping", async () => {
  const { events, component } = recorder();
  const logger = capturingLogger();
  const service = createService({
    name: "orders",
    components: [component("a"), component("b", { failStop: true })],
    signals: [],
    logger,
  });
  await service.start();
  assert.equal(await service.stop(), false);
  assert.deepEqual(events, ["start a", "start b", "stop b", "stop a"]);
  assert.ok(logger.lines.some((line) => line.startsWith('error: component "b" failed to stop')));
});

test("stop gives up after the shutdown timeout", async () => {
  const { component } = recorder();
  const logger = capturingLogger();
  const service = createService({
    name: "slow",
    components: [component("stuck", { stopMs: 2_000 })],
    signals: [],
    shutdownTimeoutMs: 50,
    logger,
  });
  await service.start();
  const startedAt = Date.now();
  assert.equal(await service.stop(), false);
  assert.ok(Date.now() - startedAt < 1_500);
  assert.ok(logger.lines.some((line) => line.includes("did not stop within 50 ms")));
});

test("SIGTERM stops the service gracefully and removes the handler afterwards", async () => {
  const { events, component } = recorder();
  const listenersBefore = process.listenerCount("SIGTERM");
  const service = createService({
    name: "signalled",
    components: [component("a"), component("b")],
    exitProcess: false,
  });
  await service.start();
  assert.equal(process.listenerCount("SIGTERM"), listenersBefore + 1);
  process.emit("SIGTERM", "SIGTERM");
  await service.stopped;
  assert.equal(service.state, "stopped");
  assert.deepEqual(events, ["start a", "start b", "stop b", "stop a"]);
  assert.equal(process.listenerCount("SIGTERM"), listenersBefore);
});

test("a stop during start waits for the component being started, then stops it", async () => {
  const events: string[] = [];
  let finishStart: () => void = () => {};
  const slow: Component = defineComponent({
    name: "slow",
    start: () =>
      new Promise<void>((resolve) => {
        events.push("start slow");
        finishStart = resolve;
      }),
    stop: async () => {
      events.push("stop slow");
    },
  });
  const never = defineComponent({ name: "never", start: async () => void events.push("start never") });
  const service = createService({ name: "racy", components: [slow, never], signals: [] });
  const starting = service.start();
  const stopping = service.stop();
  finishStart();
  await starting;
  assert.equal(await stopping, true);
  assert.deepEqual(events, ["start slow", "stop slow"]);
  assert.equal(service.state, "stopped");
});

test("two components with one name are refused", () => {
  const { component } = recorder();
  assert.throws(
    () => createService({ name: "dup", components: [component("x"), component("x")], signals: [] }),
    /two components are named "x"/,
  );
});

interface ProcessResult {
  code: number | null;
  lines: string[];
}

/** Starts the fixture service, sends it the signals once it is ready, and collects its output until it exits. */
function runServiceProcess(stopDelayMs: number, signals: readonly NodeJS.Signals[]): Promise<ProcessResult> {
  const fixture = fileURLToPath(new URL("./fixtures/service-process.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", fixture, String(stopDelayMs)], { stdio: "pipe" });
  let stdout = "";
  let signalled = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the service process did not exit; output so far:\n${stdout}`));
    }, 20_000);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!signalled && stdout.includes("ready\n")) {
        signalled = true;
        void (async () => {
          for (const signal of signals) {
            child.kill(signal);
            await new Promise((wait) => setTimeout(wait, 100));
          }
        })();
      }
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, lines: stdout.trim().split("\n") });
    });
  });
}

test("a real SIGTERM stops the components in reverse order, finishing their work, and exits with 0", async () => {
  const result = await runServiceProcess(300, ["SIGTERM"]);
  assert.deepEqual(result.lines, [
    "started database",
    "started worker",
    "ready",
    "stopping worker",
    "stopped worker",
    "stopping database",
    "stopped database",
  ]);
  assert.equal(result.code, 0);
});

test("a second signal during shutdown exits at once with 1", async () => {
  const result = await runServiceProcess(10_000, ["SIGTERM", "SIGINT"]);
  assert.equal(result.code, 1);
  assert.deepEqual(result.lines.slice(-1), ["stopping worker"]);
});
