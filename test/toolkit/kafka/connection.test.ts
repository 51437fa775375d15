import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { test } from "node:test";

import { PublishError, ToolkitError, ToolkitErrorCode } from "../../../src/toolkit/errors.js";
import { ensureTopics } from "../../../src/toolkit/kafka/admin.js";
import { createKafkaClient, DEFAULT_KAFKA_BROKERS, parseBrokers } from "../../../src/toolkit/kafka/connection.js";
import { createRawPublisher } from "../../../src/toolkit/publisher.js";
import { brokerForTest } from "../../helpers/broker.js";
import { temporaryDir } from "../../helpers/environment.js";

const QUICK = { connectionTimeoutMs: 1_000, requestTimeoutMs: 3_000, retry: { retries: 1, maxRetryTimeMs: 100 } };

function configError(pattern: RegExp) {
  return (error: unknown) =>
    error instanceof ToolkitError &&
    error.code === ToolkitErrorCode.KAFKA_CONFIG_INVALID &&
    pattern.test(error.message);
}

test("brokers come from the options, then KAFKA_BROKERS, then the default", () => {
  assert.deepEqual(createKafkaClient({ brokers: ["a:1", "b:2"], env: { KAFKA_BROKERS: "x:9" } }).brokers, [
    "a:1",
    "b:2",
  ]);
  assert.deepEqual(createKafkaClient({ env: { KAFKA_BROKERS: " x:9 , y:10 " } }).brokers, ["x:9", "y:10"]);
  assert.deepEqual(createKafkaClient({ env: {} }).brokers, [DEFAULT_KAFKA_BROKERS]);
  assert.equal(createKafkaClient({ env: {} }).clientId, "sluice-toolkit");
});

test("bad connection settings are refused with the setting named", () => {
  assert.throws(() => parseBrokers("", "KAFKA_BROKERS"), configError(/KAFKA_BROKERS: expected at least one broker/));
  assert.throws(
    () => createKafkaClient({ env: { KAFKA_BROKERS: "nohost" } }),
    configError(/"nohost" is not host:port/),
  );
  assert.throws(() => createKafkaClient({ brokers: ["h:70000"], env: {} }), configError(/port from 1 to 65535/));
  assert.throws(
    () => createKafkaClient({ env: { KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "p" } }),
    configError(/need KAFKA_SASL_MECHANISM/),
  );
  assert.throws(
    () =>
      createKafkaClient({
        env: { KAFKA_SASL_MECHANISM: "gssapi", KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "p" },
      }),
    configError(/expected plain, scram-sha-256 or scram-sha-512/),
  );
  assert.throws(
    () => createKafkaClient({ env: { KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "u" } }),
    configError(/needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/),
  );
  assert.throws(
    () => createKafkaClient({ env: { KAFKA_TLS: "maybe" } }),
    configError(/KAFKA_TLS: expected true or false/),
  );
  assert.throws(
    () => createKafkaClient({ env: { KAFKA_TLS_CA: "/nonexistent/ca.pem" } }),
    configError(/KAFKA_TLS_CA: cannot read \/nonexistent\/ca\.pem/),
  );
  assert.throws(() => createKafkaClient({ env: {}, requestTimeoutMs: 0 }), /requestTimeoutMs: must be an integer/);
});

test("a KAFKA_TLS_CA file is read, and an oversized one is refused", (t) => {
  const dir = temporaryDir(t);
  const path = `${dir}/huge.pem`;
  writeFileSync(path, Buffer.alloc(1024 * 1024 + 1, 65));
  assert.throws(() => createKafkaClient({ env: { KAFKA_TLS_CA: path } }), configError(/larger than 1048576 bytes/));
  const small = `${dir}/ca.pem`;
  writeFileSync(small, Buffer.from("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"));
  assert.doesNotThrow(() => createKafkaClient({ env: { KAFKA_TLS_CA: small } }));
});

test("SASL credentials from the environment reach a SASL broker; wrong ones are refused", async (t) => {
  const broker = await brokerForTest(t, { sasl: { mechanisms: ["SCRAM-SHA-256"], users: { svc: "s3cret" } } });
  const env = {
    KAFKA_BROKERS: broker.address,
    KAFKA_SASL_MECHANISM: "SCRAM-SHA-256",
    KAFKA_SASL_USERNAME: "svc",
    KAFKA_SASL_PASSWORD: "s3cret",
  };
  const client = createKafkaClient({ env, ...QUICK });
  await ensureTopics(client, [{ name: "secured", partitions: 1 }]);
  const publisher = await createRawPublisher(client);
  await publisher.publish("secured", [{ key: "k", value: Buffer.from("v"), headers: {} }]);
  await publisher.close();
  const admin = client.admin();
  t.after(() => admin.disconnect());
  assert.deepEqual(
    (await admin.topicOffsets("secured")).map((entry) => entry.high),
    ["1"],
  );

  const wrong = createKafkaClient({ env: { ...env, KAFKA_SASL_PASSWORD: "guess" }, ...QUICK });
  await assert.rejects(createRawPublisher(wrong), (error: unknown) => {
    assert.ok(error instanceof PublishError, String(error));
    assert.equal(error.retriable, false);
    assert.match(error.message, /authentication failed .*KAFKA_SASL_PASSWORD/);
    return true;
  });
});
