import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { describe, test } from "node:test";
import { runCli } from "./run-cli.js";

const packageVersion = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

/** A port that refuses connections: bound once to find a free one, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null && typeof address === "object");
  return address.port;
}

describe("sluice (child process)", { concurrency: 4 }, () => {
  test("--help lists every command on stdout and exits 0", async () => {
    const result = await runCli(["--help"]);
    assert.equal(result.code, 0);
    for (const command of ["up", "broker", "topics", "produce", "consume"]) {
      assert.match(result.stdout, new RegExp(`^  ${command} `, "m"));
    }
    assert.equal(result.stderr, "");
  });

  test("no command prints the usage to stderr and exits 2", async () => {
    const result = await runCli([]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /sluice: missing command/);
    assert.match(result.stderr, /Usage: sluice <command>/);
    assert.equal(result.stdout, "");
  });

  test("--version prints the package version", async () => {
    const result = await runCli(["--version"]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), packageVersion);
  });

  test("an unknown command suggests the close one and exits 2", async () => {
    const result = await runCli(["topcs", "list"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command "topcs" \(did you mean "topics"\?\)/);
  });

  test("<command> --help prints that command's usage on stdout", async () => {
    const result = await runCli(["produce", "--help"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: sluice produce <topic> \[options\]/);
    assert.match(result.stdout, /--key-separator <SEP>/);
    const nested = await runCli(["topics", "create", "-h"]);
    assert.equal(nested.code, 0);
    assert.match(nested.stdout, /^Usage: sluice topics create <topic> \[options\]/);
  });

  test("a bad argument prints the error, the command's usage line and where its help is, and exits 2", async () => {
    const result = await runCli(["consume", "events", "--max-messages", "zero"]);
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      'sluice consume: invalid value for --max-messages: "zero" is not an integer\n' +
        "Usage: sluice consume <topic> [options]\n" +
        "Run `sluice consume --help` to see every option.\n",
    );
    assert.equal(result.stdout, "");
    const unknown = await runCli(["up", "--prot", "8080"]);
    assert.equal(unknown.code, 2);
    const lines = unknown.stderr.trimEnd().split("\n");
    assert.deepEqual(lines, [
      "sluice up: unknown option --prot (did you mean --port?)",
      "Usage: sluice up [options]",
      "Run `sluice up --help` to see every option.",
    ]);
  });

  test("a missing positional exits 2", async () => {
    const result = await runCli(["topics", "describe"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /sluice topics describe: missing <topic>/);
  });

  test("options that only conflict once combined still exit 2 with the usage", async () => {
    const result = await runCli(["topics", "list", "--sasl-mechanism", "plain"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--sasl-mechanism plain needs --sasl-username and --sasl-password/);
    assert.match(result.stderr, /Usage: sluice topics list/);
  });

  test("a bad environment variable is reported like a bad option", async () => {
    const result = await runCli(["topics", "list"], { env: { KAFKA_BROKERS: "no-port-here" } });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /invalid value for --brokers from KAFKA_BROKERS: "no-port-here" is not host:port/);
  });

  test("an unreachable broker exits 1 and says what to do next", async () => {
    const port = await closedPort();
    const result = await runCli(["topics", "list", "--brokers", `127.0.0.1:${port}`, "--timeout-ms", "2000"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`cannot reach a Kafka broker at 127\\.0\\.0\\.1:${port}`));
    assert.match(result.stderr, /Start one with `sluice broker`/);
  });

  test("KAFKA_BROKERS is the default bootstrap address", async () => {
    const port = await closedPort();
    const result = await runCli(["topics", "list"], { env: { KAFKA_BROKERS: `127.0.0.1:${port}` } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`at 127\\.0\\.0\\.1:${port}`));
  });

  test("broker refuses a missing TLS key before starting anything", async () => {
    const result = await runCli(["broker", "--tls-cert", "cert.pem", "--port", "0"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--tls-cert and --tls-key go together/);
  });
});
