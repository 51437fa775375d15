// The jobs board team's environment names reach `sluice up` as the settings they meant: KAFKA_BOOTSTRAP_SERVERS as
// the Kafka cluster and JWT_SECRET_KEY as the token secret; Sluice's own names win when both are set.

import assert from "node:assert/strict";
import { test } from "node:test";

import { parseArguments } from "../../src/cli/args.js";
import { UP_ENV_PREFIX } from "../../src/cli/commands/up.js";
import { withEnvAliases } from "../../src/cli/env-aliases.js";
import { resolveUpConfig, upOptions } from "../../src/cli/up/config.js";

function upConfigFrom(env: Record<string, string>) {
  const aliased = withEnvAliases(env);
  const parsed = parseArguments([], { options: upOptions, positionals: [], envPrefix: UP_ENV_PREFIX }, aliased);
  if (parsed.help) throw new Error("unexpected --help");
  return resolveUpConfig(parsed.options, aliased);
}

const SECRET = "a-secret-of-at-least-thirty-two-bytes-long";

test("KAFKA_BOOTSTRAP_SERVERS and JWT_SECRET_KEY are read as KAFKA_BROKERS and SLUICE_JWT_SECRET", () => {
  const config = upConfigFrom({ KAFKA_BOOTSTRAP_SERVERS: "kafka:29092", JWT_SECRET_KEY: SECRET });
  assert.deepEqual(config.kafkaBrokers, ["kafka:29092"]);
  assert.equal(config.jwtSecret, SECRET);
  assert.equal(config.roles.has("broker"), false, "a named cluster replaces the embedded broker");
});

test("Sluice's own names win over the aliases", () => {
  const config = upConfigFrom({
    KAFKA_BOOTSTRAP_SERVERS: "kafka:29092",
    KAFKA_BROKERS: "broker-1:9092",
    JWT_SECRET_KEY: "the team's secret, also long enough to use",
    SLUICE_JWT_SECRET: SECRET,
  });
  assert.deepEqual(config.kafkaBrokers, ["broker-1:9092"]);
  assert.equal(config.jwtSecret, SECRET);
});
