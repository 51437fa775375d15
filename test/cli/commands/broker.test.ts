import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import kafkajs from "kafkajs";
import { ArgumentError, parseArguments } from "../../../src/cli/args.js";
import { CliError } from "../../../src/cli/command.js";
import {
  brokerConfigFromOptions,
  brokerOptions,
  parseFlushMode,
  parseSaslMechanisms,
} from "../../../src/cli/commands/broker.js";
import { temporaryDir } from "../../helpers/environment.js";
import { exited, runCli, spawnCli, waitForLine } from "../run-cli.js";

const LISTENING = /listening on (127\.0\.0\.1):(\d+)$/;

function brokerValues(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseArguments(argv, { options: brokerOptions, positionals: [], envPrefix: "SLUICE_BROKER_" }, env);
  assert.ok(!parsed.help);
  if (parsed.help) throw new Error("unreachable");
  return parsed.options;
}

describe("broker options", () => {
  test("--flush takes always or interval:<ms>", () => {
    assert.deepEqual(parseFlushMode("always"), { kind: "always" });
    assert.deepEqual(parseFlushMode("interval:25"), { kind: "interval", intervalMs: 25 });
    assert.throws(() => parseFlushMode("sometimes"), /neither always nor interval:<ms>/);
    assert.throws(() => parseFlushMode("interval:0"), /below the minimum 1/);
    assert.throws(() => parseFlushMode("interval:"), /neither always nor interval/);
    assert.throws(() => parseFlushMode("interval:fast"), /not an integer/);
  });

  test("--sasl-mechanisms takes a comma-separated list of supported mechanisms", () => {
    assert.deepEqual(parseSaslMechanisms("plain,scram-sha-512,PLAIN"), ["PLAIN", "SCRAM-SHA-512"]);
    assert.throws(() => parseSaslMechanisms("PLAIN,GSSAPI"), /"GSSAPI" is not one of/);
  });

  test("options and SLUICE_BROKER_* variables become broker configuration", () => {
    const config = brokerConfigFromOptions(
      brokerValues(["--port", "0", "--no-auto-create-topics", "--flush", "interval:10", "--partitions", "4"], {
        SLUICE_BROKER_DATA_DIR: "/tmp/x",
        SLUICE_BROKER_MESSAGE_MAX_BYTES: "2048",
        SLUICE_BROKER_HOST: "0.0.0.0",
        SLUICE_BROKER_ADVERTISED_HOST: "broker.example",
      }),
    );
    assert.equal(config.port, 0);
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.advertisedHost, "broker.example");
    assert.equal(config.advertisedPort, null);
    assert.equal(config.dataDir, "/tmp/x");
    assert.equal(config.autoCreateTopics, false);
    assert.deepEqual(config.flush, { kind: "interval", intervalMs: 10 });
    assert.equal(config.defaultPartitions, 4);
    assert.equal(config.messageBytesMax, 2048);
    assert.equal(config.sasl, null);
    assert.equal(config.tls, null);
  });

  test("--super-users turns the ACL authorizer on; without it there is none", () => {
    assert.equal(brokerConfigFromOptions(brokerValues([])).authorizer, null);
    assert.deepEqual(
      brokerConfigFromOptions(
        brokerValues(["--super-users", "User:admin; User:ops", "--allow-everyone-if-no-acl-found"]),
      ).authorizer,
      { superUsers: ["User:admin", "User:ops"], allowEveryoneIfNoAclFound: true },
    );
  });

  test("TLS and SASL files are read; problems with them are clear errors", (t) => {
    const dir = temporaryDir(t);
    writeFileSync(join(dir, "users"), "alice:wonderland\n");
    writeFileSync(join(dir, "cert.pem"), "CERT");
    writeFileSync(join(dir, "key.pem"), "KEY");
    const config = brokerConfigFromOptions(
      brokerValues([
        "--sasl-users",
        join(dir, "users"),
        "--sasl-mechanisms",
        "SCRAM-SHA-256",
        "--tls-cert",
        join(dir, "cert.pem"),
        "--tls-key",
        join(dir, "key.pem"),
      ]),
    );
    assert.deepEqual(config.sasl?.mechanisms, ["SCRAM-SHA-256"]);
    assert.deepEqual({ ...config.sasl?.users }, { alice: "wonderland" });
    assert.equal(config.tls?.cert.toString(), "CERT");
    assert.equal(config.tls?.key.toString(), "KEY");
    assert.throws(() => brokerConfigFromOptions(brokerValues(["--tls-key", "k"])), ArgumentError);
    assert.throws(
      () => brokerConfigFromOptions(brokerValues(["--tls-cert", join(dir, "absent"), "--tls-key", "k"])),
      (error: unknown) => error instanceof CliError && /cannot read the TLS cert/.test(error.message),
    );
    assert.throws(
      () => brokerConfigFromOptions(brokerValues(["--sasl-users", join(dir, "absent")])),
      (error: unknown) => error instanceof CliError && /cannot read the SASL users file/.test(error.message),
    );
  });
});

describe("sluice broker (child process)", { concurrency: 2 }, () => {
  test("prints one listening line, serves Kafka clients, and exits 0 on SIGTERM", async (t) => {
    const dataDir = temporaryDir(t);
    const child = spawnCli(["broker", "--port", "0", "--data-dir", dataDir, "--log-level", "warn"]);
    t.after(() => child.kill("SIGKILL"));
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const line = await waitForLine(child, LISTENING);
    const [, host, port] = LISTENING.exec(line)!;
    const kafka = new kafkajs.Kafka({ brokers: [`${host}:${port}`], logLevel: kafkajs.logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    assert.ok(Array.isArray(await admin.listTopics()));
    await admin.disconnect();
    child.kill("SIGTERM");
    assert.deepEqual(await exited(child), { code: 0, signal: null });
    assert.equal(stdout, `sluice broker listening on ${host}:${port}\n`, "exactly one line on stdout");
  });

  test("reads its flags from SLUICE_BROKER_* and stops on SIGINT", async (t) => {
    const dataDir = temporaryDir(t);
    const child = spawnCli(["broker"], {
      SLUICE_BROKER_PORT: "0",
      SLUICE_BROKER_DATA_DIR: dataDir,
      SLUICE_BROKER_LOG_LEVEL: "silent",
    });
    t.after(() => child.kill("SIGKILL"));
    const line = await waitForLine(child, LISTENING);
    assert.notEqual(Number(LISTENING.exec(line)![2]), 9092, "SLUICE_BROKER_PORT=0 picked a free port");
    child.kill("SIGINT");
    assert.deepEqual(await exited(child), { code: 0, signal: null });
  });

  test("a port in use exits 1 and suggests another", async (t) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    t.after(() => blocker.close());
    const address = blocker.address();
    assert.ok(address !== null && typeof address === "object");
    const result = await runCli(["broker", "--port", String(address.port), "--data-dir", temporaryDir(t)]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${address.port} is already in use`));
    assert.match(result.stderr, /pick another port with --port/);
    assert.equal(result.stdout, "");
  });

  test("keeps what was produced across a graceful restart", async (t) => {
    const dataDir = temporaryDir(t);
    const start = async () => {
      const child = spawnCli(["broker", "--port", "0", "--data-dir", dataDir, "--log-level", "silent"]);
      t.after(() => child.kill("SIGKILL"));
      const [, host, port] = LISTENING.exec(await waitForLine(child, LISTENING))!;
      return { child, address: `${host}:${port}` };
    };
    const first = await start();
    const produced = await runCli(["produce", "kept", "--brokers", first.address], { input: "one\ntwo\nthree\n" });
    assert.equal(produced.code, 0, produced.stderr);
    first.child.kill("SIGTERM");
    assert.equal((await exited(first.child)).code, 0);

    const second = await start();
    const consumed = await runCli(
      ["consume", "kept", "--brokers", second.address, "--from-beginning", "--max-messages", "3"],
      { timeoutMs: 20_000 },
    );
    assert.equal(consumed.code, 0, consumed.stderr);
    assert.equal(consumed.stdout, "one\ntwo\nthree\n");
    second.child.kill("SIGTERM");
    assert.equal((await exited(second.child)).code, 0);
  });

  test("with --sasl-users, clients must authenticate", async (t) => {
    const dir = temporaryDir(t);
    writeFileSync(join(dir, "users"), "alice:wonderland\n");
    const child = spawnCli([
      "broker",
      "--port",
      "0",
      "--data-dir",
      join(dir, "data"),
      "--sasl-users",
      join(dir, "users"),
      "--log-level",
      "silent",
    ]);
    t.after(() => child.kill("SIGKILL"));
    const [, host, port] = LISTENING.exec(await waitForLine(child, LISTENING))!;
    const brokers = `${host}:${port}`;
    const good = await runCli(["topics", "list", "--brokers", brokers, "--json"], {
      env: { KAFKA_SASL_MECHANISM: "scram-sha-256", KAFKA_SASL_USERNAME: "alice", KAFKA_SASL_PASSWORD: "wonderland" },
    });
    assert.equal(good.code, 0, good.stderr);
    assert.deepEqual(JSON.parse(good.stdout), []);
    const bad = await runCli([
      "topics",
      "list",
      "--brokers",
      brokers,
      "--sasl-mechanism",
      "plain",
      "--sasl-username",
      "alice",
      "--sasl-password",
      "guess",
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /authentication failed/);
    assert.match(bad.stderr, /Check --sasl-mechanism, --sasl-username and --sasl-password/);
    child.kill("SIGTERM");
    assert.equal((await exited(child)).code, 0);
  });
});
