import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SaslAuthenticationError } from "../../../src/broker/sasl/errors.js";
import { createSaslServer } from "../../../src/broker/sasl/mechanisms.js";
import { SaslUserStore } from "../../../src/broker/sasl/user-store.js";
import { seededRandomBytes } from "./test-support.js";

const store = new SaslUserStore(
  { mechanisms: ["PLAIN"], users: { alice: "alice-secret", émile: "mot de passe" } },
  { randomBytes: seededRandomBytes(3) },
);

function plainToken(authorizationId: string, username: string, password: string): Buffer {
  return Buffer.from(`${authorizationId}\0${username}\0${password}`, "utf8");
}

function expectFailure(token: Buffer, pattern: RegExp): void {
  assert.throws(
    () => createSaslServer("PLAIN", store).step(token),
    (error: unknown) => error instanceof SaslAuthenticationError && pattern.test(error.message),
  );
}

describe("PLAIN", () => {
  test("authenticates with an empty authorization id and answers with an empty token", () => {
    const result = createSaslServer("PLAIN", store).step(plainToken("", "alice", "alice-secret"));
    assert.deepEqual(result, { response: Buffer.alloc(0), done: true, principal: "alice" });
  });

  test("authenticates with an authorization id equal to the user name, and UTF-8 names", () => {
    assert.equal(
      createSaslServer("PLAIN", store).step(plainToken("alice", "alice", "alice-secret")).principal,
      "alice",
    );
    assert.equal(createSaslServer("PLAIN", store).step(plainToken("", "émile", "mot de passe")).principal, "émile");
  });

  test("refuses a wrong password, a password differing only in length, and an unknown user alike", () => {
    expectFailure(plainToken("", "alice", "alice-secreT"), /^Authentication failed: invalid username or password$/);
    expectFailure(plainToken("", "alice", "alice-secret!"), /^Authentication failed: invalid username or password$/);
    expectFailure(plainToken("", "bob", "alice-secret"), /^Authentication failed: invalid username or password$/);
  });

  test("refuses acting as another user", () => {
    expectFailure(plainToken("admin", "alice", "alice-secret"), /authorization id must be empty or equal/);
  });

  const malformed: ReadonlyArray<[string, Buffer, RegExp]> = [
    ["an empty token", Buffer.alloc(0), /two NUL bytes/],
    ["one NUL", Buffer.from("alice\0alice-secret"), /two NUL bytes/],
    ["three NULs", Buffer.from("\0alice\0alice-secret\0"), /two NUL bytes/],
    ["an empty user name", plainToken("", "", "alice-secret"), /user name is empty/],
    ["an empty password", plainToken("", "alice", ""), /password is empty/],
    ["a user name that is not UTF-8", Buffer.from([0, 0xc3, 0x28, 0, 0x61]), /user name is not valid UTF-8/],
    ["a token over the size limit", Buffer.alloc(512 * 1024 + 1, 0), /longer than/],
  ];
  for (const [name, token, pattern] of malformed) {
    test(`refuses a token with ${name}`, () => expectFailure(token, pattern));
  }

  test("takes exactly one token", () => {
    const server = createSaslServer("PLAIN", store);
    server.step(plainToken("", "alice", "alice-secret"));
    assert.throws(() => server.step(plainToken("", "alice", "alice-secret")), /already finished/);
  });

  test("is not offered when only SCRAM is enabled", () => {
    const scramOnly = new SaslUserStore({ mechanisms: ["SCRAM-SHA-256"], users: { alice: "x" } });
    assert.throws(() => createSaslServer("PLAIN", scramOnly), /"PLAIN" is not enabled; enabled: SCRAM-SHA-256/);
  });
});
