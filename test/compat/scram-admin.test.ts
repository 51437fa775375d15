// SCRAM users managed over the protocol: @platformatic/kafka's AlterUserScramCredentials and
// DescribeUserScramCredentials requests (as its admin sends them) create, change and delete users; kafkajs logs in
// with them at once, without a restart, and a restarted broker still knows them.

import assert from "node:assert/strict";
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { alterUserScramCredentialsV0, Connection, describeUserScramCredentialsV0 } from "@platformatic/kafka";
import type { SASLOptions } from "kafkajs";
import type { RunningBroker } from "../../src/broker/index.js";
import { ErrorCode } from "../../src/kafka/protocol/error-codes.js";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";

const ADMIN = { admin: "admin-secret" };
const SHA_256 = 1;
const SHA_512 = 2;
const ITERATIONS = 4096;

function upsertion(name: string, mechanism: number, password: string, iterations = ITERATIONS) {
  const salt = randomBytes(16);
  const [digest, bytes] = mechanism === SHA_256 ? ["sha256", 32] : ["sha512", 64];
  const saltedPassword = pbkdf2Sync(Buffer.from(password), salt, iterations, bytes as number, digest as string);
  return { name, mechanism, iterations, salt, saltedPassword };
}

/** The response, also when platformatic rejects because it carries errors (it attaches the response then). */
async function answerOf<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    const { response } = error as { response?: T };
    if (response === undefined) throw error;
    return response;
  }
}

async function adminConnection(t: TestContext, broker: RunningBroker): Promise<Connection> {
  const connection = new Connection("scram-admin", {
    sasl: { mechanism: "SCRAM-SHA-256", username: "admin", password: ADMIN.admin },
  });
  await connection.connect(broker.host, broker.port);
  t.after(() => connection.close());
  return connection;
}

/** Whether kafkajs can log in as this user and list topics. */
async function logsIn(
  broker: RunningBroker,
  mechanism: "scram-sha-256" | "scram-sha-512",
  user: string,
  password: string,
) {
  const sasl = { mechanism, username: user, password } as SASLOptions;
  const admin = kafkaFor(broker, { sasl, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect();
  }
}

test("users created, changed and deleted over the protocol log in (or not) at once, and survive a restart", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-scram-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const sasl = { mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const, users: ADMIN };
  const broker = await brokerForTest(t, { dataDir, sasl: { ...sasl, mechanisms: [...sasl.mechanisms] } });
  const connection = await adminConnection(t, broker);

  assert.equal(await logsIn(broker, "scram-sha-256", "alice", "alice-1"), false);
  const created = await alterUserScramCredentialsV0.api.async(
    connection,
    [],
    [upsertion("alice", SHA_256, "alice-1"), upsertion("alice", SHA_512, "alice-1", 8192)],
  );
  assert.deepEqual(created.results, [{ user: "alice", errorCode: ErrorCode.NONE, errorMessage: null }]);
  assert.equal(await logsIn(broker, "scram-sha-256", "alice", "alice-1"), true);
  assert.equal(await logsIn(broker, "scram-sha-512", "alice", "alice-1"), true);

  const described = await describeUserScramCredentialsV0.api.async(connection, []);
  assert.deepEqual(
    described.results.map((result) => [result.user, result.credentialInfos]),
    [
      [
        "admin",
        [
          { mechanism: SHA_256, iterations: ITERATIONS },
          { mechanism: SHA_512, iterations: ITERATIONS },
        ],
      ],
      [
        "alice",
        [
          { mechanism: SHA_256, iterations: ITERATIONS },
          { mechanism: SHA_512, iterations: 8192 },
        ],
      ],
    ],
  );

  // A new password replaces the old one at once; deleting SHA-512 leaves SHA-256.
  await alterUserScramCredentialsV0.api.async(
    connection,
    [{ name: "alice", mechanism: SHA_512 }],
    [upsertion("alice", SHA_256, "alice-2")],
  );
  assert.equal(await logsIn(broker, "scram-sha-256", "alice", "alice-1"), false);
  assert.equal(await logsIn(broker, "scram-sha-256", "alice", "alice-2"), true);
  assert.equal(await logsIn(broker, "scram-sha-512", "alice", "alice-1"), false);
  await connection.close();
  await broker.close();

  const restarted = await brokerForTest(t, { dataDir, sasl: { ...sasl, mechanisms: [...sasl.mechanisms] } });
  assert.equal(await logsIn(restarted, "scram-sha-256", "alice", "alice-2"), true);
  assert.equal(await logsIn(restarted, "scram-sha-512", "alice", "alice-1"), false);
});

test("bad changes get Kafka's per-user errors and change nothing for that user", async (t) => {
  const broker = await brokerForTest(t, { sasl: { mechanisms: ["SCRAM-SHA-256"], users: ADMIN } });
  const connection = await adminConnection(t, broker);
  const response = await answerOf(
    alterUserScramCredentialsV0.api.async(
      connection,
      [
        { name: "nobody", mechanism: SHA_256 },
        { name: "twice", mechanism: SHA_256 },
      ],
      [
        upsertion("few-iterations", SHA_256, "x", 1000),
        upsertion("twice", SHA_256, "x"),
        { ...upsertion("odd-mechanism", SHA_256, "x"), mechanism: 7 },
        upsertion("", SHA_256, "x"),
      ],
    ),
  );
  assert.deepEqual(
    response.results.map((result) => [result.user, result.errorCode]),
    [
      ["nobody", ErrorCode.RESOURCE_NOT_FOUND],
      ["twice", ErrorCode.DUPLICATE_RESOURCE],
      ["few-iterations", ErrorCode.UNACCEPTABLE_CREDENTIAL],
      ["odd-mechanism", ErrorCode.UNSUPPORTED_SASL_MECHANISM],
      ["", ErrorCode.UNACCEPTABLE_CREDENTIAL],
    ],
  );
  const described = await answerOf(
    describeUserScramCredentialsV0.api.async(connection, [{ name: "twice" }, { name: "admin" }]),
  );
  assert.deepEqual(
    described.results.map((result) => [result.user, result.errorCode]),
    [
      ["twice", ErrorCode.RESOURCE_NOT_FOUND],
      ["admin", ErrorCode.NONE],
    ],
  );
});
