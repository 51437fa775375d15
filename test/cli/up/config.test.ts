// `sluice up` settings: flags win over environment variables, which win over the config file, which wins over the
// defaults; every bad value is refused with a message naming the setting and where the value came from.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { ArgumentError, parseArguments, type Environment } from "../../../src/cli/args.js";
import { CliError } from "../../../src/cli/command.js";
import { UP_ENV_PREFIX } from "../../../src/cli/commands/up.js";
import { resolveUpConfig, upOptions, type UpConfig } from "../../../src/cli/up/config.js";
import { APP_NAMES, UP_ROLES } from "../../../src/cli/up/roles.js";
import { temporaryDir } from "../../helpers/environment.js";

function resolve(argv: readonly string[], env: Environment = {}): UpConfig {
  const parsed = parseArguments(argv, { options: upOptions, positionals: [], envPrefix: UP_ENV_PREFIX }, env);
  if (parsed.help) throw new Error("unexpected --help");
  return resolveUpConfig(parsed.options, env);
}

function configFile(dir: string, contents: unknown): string {
  const path = join(dir, "sluice.json");
  writeFileSync(path, typeof contents === "string" ? contents : JSON.stringify(contents));
  return path;
}

function cliError(pattern: RegExp) {
  return (error: unknown) => error instanceof CliError && pattern.test(`${error.message} ${error.hint ?? ""}`);
}

function argumentError(pattern: RegExp) {
  return (error: unknown) => error instanceof ArgumentError && pattern.test(error.message);
}

test("the defaults run everything on this machine", () => {
  const config = resolve([]);
  assert.deepEqual([...config.roles], UP_ROLES, "every role of every app, and the broker");
  assert.deepEqual(
    config.runningApps.map((app) => app.name),
    APP_NAMES,
  );
  assert.equal(config.port, 8080);
  assert.equal(config.brokerPort, 9092);
  assert.equal(config.dataDir, ".sluice");
  assert.equal(config.databasePoolSize, 10);
  assert.equal(config.databaseConnectTimeoutMs, 5_000);
  assert.equal(config.kafkaBrokers, null);
  assert.equal(config.databaseUrl, null);
  assert.equal(config.authMode, "optional");
  assert.equal(config.configFile, null);
});

test("flags beat the environment, which beats the config file, which beats the defaults", (t) => {
  const path = configFile(temporaryDir(t), { port: 3000, brokerPort: 9300, dataDir: "/from/file", authMode: "off" });
  const config = resolve(["--config", path, "--port", "4000"], {
    SLUICE_PORT: "5000",
    SLUICE_BROKER_PORT: "9400",
  });
  assert.equal(config.port, 4000, "the flag wins");
  assert.equal(config.brokerPort, 9400, "the environment beats the file");
  assert.equal(config.dataDir, "/from/file", "the file beats the default");
  assert.equal(config.authMode, "off");
  assert.equal(config.host, "127.0.0.1", "the default fills the rest");
  assert.equal(config.configFile, path);
});

test("PGlite's thread: --pglite-thread beats SLUICE_PGLITE_THREAD, which beats the config file, then worker", (t) => {
  const path = configFile(temporaryDir(t), { pgliteThread: "main" });
  assert.equal(resolve([]).pgliteThread, "worker");
  assert.equal(resolve(["--config", path]).pgliteThread, "main");
  assert.equal(resolve(["--config", path], { SLUICE_PGLITE_THREAD: "worker" }).pgliteThread, "worker");
  assert.equal(resolve(["--config", path], { SLUICE_PGLITE_THREAD: "" }).pgliteThread, "main", "empty is unset");
  assert.equal(
    resolve(["--config", path, "--pglite-thread", "worker"], { SLUICE_PGLITE_THREAD: "main" }).pgliteThread,
    "worker",
  );
  assert.throws(
    () => resolve([], { SLUICE_PGLITE_THREAD: "both" }),
    (error: unknown) =>
      error instanceof ArgumentError &&
      error.message ===
        'invalid value for --pglite-thread from SLUICE_PGLITE_THREAD: must be one of main, worker, got "both"',
  );
  assert.throws(
    () => resolve(["--config", configFile(temporaryDir(t), { pgliteThread: "both" })]),
    cliError(/setting "pgliteThread" must be one of main, worker, got "both"/),
  );
});

test("the config file can come from SLUICE_CONFIG", (t) => {
  const path = configFile(temporaryDir(t), { messageTextCharsMax: 280 });
  assert.equal(resolve([], { SLUICE_CONFIG: path }).messageTextCharsMax, 280);
});

test("KAFKA_BROKERS replaces the embedded broker; DATABASE_URL replaces PGlite", () => {
  const config = resolve([], {
    KAFKA_BROKERS: "kafka-1:9092, kafka-2:9092",
    DATABASE_URL: "postgres://app@db:5432/app",
  });
  assert.deepEqual(config.kafkaBrokers, ["kafka-1:9092", "kafka-2:9092"]);
  assert.equal(config.databaseUrl, "postgres://app@db:5432/app");
  assert.deepEqual(
    [...config.roles],
    UP_ROLES.filter((role) => role !== "broker"),
    "no embedded broker",
  );
});

test("--apps runs whole apps with the broker; it cannot be combined with --only", () => {
  const config = resolve(["--apps", "messages"]);
  assert.deepEqual([...config.roles], ["broker", "registry", "console", "api", "worker", "relay"]);
  assert.deepEqual(
    config.runningApps.map((app) => app.name),
    ["messages"],
  );
  assert.throws(() => resolve(["--apps", "mesages"]), argumentError(/"mesages" is not one of the apps.*"messages"/));
  assert.throws(() => resolve(["--apps", "messages", "--only", "api"]), cliError(/--only and --apps/));
});

test("the schema registry is a system role on --registry-port; --registry-url replaces it", () => {
  const config = resolve([]);
  assert.ok(config.roles.has("registry"));
  assert.equal(config.registryPort, 8081);
  assert.equal(resolve(["--registry-port", "0"]).registryPort, 0);
  const external = resolve([], { SCHEMA_REGISTRY_URL: "http://registry:8081" });
  assert.equal(external.registryUrl, "http://registry:8081");
  assert.ok(!external.roles.has("registry"), "no registry of its own");
  assert.deepEqual([...resolve(["--only", "registry"]).roles], ["registry"]);
  assert.throws(() => resolve(["--registry-url", "registry:8081"]), argumentError(/--registry-url/));
});

test("DATABASE_URL_<SERVICE> gives a service a database of its own, checked like DATABASE_URL", () => {
  const config = resolve(["--only", "api"], { DATABASE_URL_MESSAGES: "postgres://db/messages" });
  assert.deepEqual(config.serviceDatabaseUrls, { messages: "postgres://db/messages" });
  assert.throws(() => resolve([], { DATABASE_URL_MESSAGES: "mysql://db" }), cliError(/DATABASE_URL_MESSAGES/));
});

test("--only picks roles; roles that share PGlite cannot be split without DATABASE_URL", () => {
  assert.deepEqual([...resolve(["--only", "broker"]).roles], ["broker"]);
  assert.deepEqual([...resolve(["--only", "api,worker,relay"]).roles], ["api", "worker", "relay"]);
  assert.deepEqual([...resolve(["--only", "api"], { DATABASE_URL: "postgres://db/app" }).roles], ["api"]);
  assert.throws(() => resolve(["--only", "api"]), cliError(/DATABASE_URL/));
  assert.throws(() => resolve(["--only", "worker,relay"]), cliError(/PGlite/));
  assert.throws(() => resolve(["--only", "web"]), argumentError(/--only: "web" is not one of/));
  assert.throws(() => resolve(["--only", "workr"]), argumentError(/did you mean "worker"/));
  assert.throws(() => resolve(["--only", ""]), argumentError(/--only/));
});

test("bad flags and environment variables name the setting", () => {
  assert.throws(() => resolve(["--port", "http"]), argumentError(/--port/));
  assert.throws(() => resolve(["--port", "70000"]), argumentError(/--port.*above the maximum 65535/));
  assert.throws(() => resolve([], { SLUICE_PORT: "-1" }), argumentError(/--port from SLUICE_PORT/));
  assert.throws(() => resolve(["--auth-mode", "maybe"]), argumentError(/--auth-mode.*off, optional, required/));
  assert.throws(() => resolve(["--kafka-brokers", "kafka"]), argumentError(/--kafka-brokers.*host:port/));
  assert.throws(() => resolve([], { KAFKA_BROKERS: "kafka:0" }), argumentError(/KAFKA_BROKERS/));
  assert.throws(() => resolve([], { DATABASE_URL: "mysql://db" }), argumentError(/DATABASE_URL.*postgres/));
  assert.throws(() => resolve(["--database-schema", "Bad-Name"]), argumentError(/--database-schema/));
  assert.throws(() => resolve(["--database-pool-size", "0"]), argumentError(/--database-pool-size/));
  assert.throws(
    () => resolve([], { SLUICE_DATABASE_CONNECT_TIMEOUT_MS: "soon" }),
    argumentError(/--database-connect-timeout-ms from SLUICE_DATABASE_CONNECT_TIMEOUT_MS/),
  );
  assert.throws(() => resolve(["--jwt-secret", "short"]), argumentError(/--jwt-secret.*32/));
  assert.throws(() => resolve(["--host", "not a host"]), argumentError(/--host/));
  assert.throws(() => resolve(["--prot", "80"]), argumentError(/did you mean --port/));
  assert.throws(
    () => resolve(["--auth-mode", "off", "--jwt-secret", "x".repeat(40)]),
    cliError(/--jwt-secret.*--auth-mode is off/),
  );
});

test("a bad config file is refused naming the file and the setting", (t) => {
  const dir = temporaryDir(t);
  const cases: Array<[unknown, RegExp]> = [
    ["{ port: 80 }", /not valid JSON/],
    [[1, 2], /must hold a JSON object/],
    [{ prot: 80 }, /unknown setting "prot" \(did you mean "port"\?\)/],
    [{ port: "80" }, /setting "port" must be an integer from 0 to 65535, got "80"/],
    [{ port: 80.5 }, /setting "port" must be an integer/],
    [{ only: ["api", "web"] }, /setting "only" "web" is not one of/],
    [{ only: 3 }, /setting "only" must be a list of strings/],
    [{ authMode: "sometimes" }, /setting "authMode" must be one of off, optional, required/],
    [{ databaseUrl: "mysql://db" }, /setting "databaseUrl" must be a postgres/],
    [{ dataDir: "" }, /setting "dataDir" must not be empty/],
  ];
  for (const [contents, pattern] of cases) {
    const path = configFile(dir, contents);
    assert.throws(
      () => resolve(["--config", path]),
      (error: unknown) => error instanceof CliError && error.message.includes(path) && pattern.test(error.message),
      `${JSON.stringify(contents)} should fail with ${pattern}`,
    );
  }
  assert.throws(() => resolve(["--config", join(dir, "missing.json")]), cliError(/cannot read the config file/));
});
