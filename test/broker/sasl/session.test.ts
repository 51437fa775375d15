import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeMessage, encodeMessage } from "../../../src/kafka/protocol/codec.js";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import {
  SaslAuthenticateResponseSchema,
  SaslHandshakeResponseSchema,
  type SaslAuthenticateResponse,
  type SaslHandshakeResponse,
} from "../../../src/kafka/protocol/messages/index.js";
import { Reader } from "../../../src/kafka/protocol/primitives.js";
import { SaslAuthenticationError } from "../../../src/broker/sasl/errors.js";
import { handleRawSaslToken } from "../../../src/broker/sasl/raw.js";
import {
  expectsRawSaslToken,
  isAllowedBeforeAuthentication,
  mustCloseAfterResponse,
  needsAuthentication,
  saslAuthenticate,
  saslHandshake,
} from "../../../src/broker/sasl/session.js";
import { SaslUserStore } from "../../../src/broker/sasl/user-store.js";
import { newConnection, ScramTestClient, seededRandomBytes } from "./test-support.js";

const users = new SaslUserStore(
  { mechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], users: { alice: "alice-secret" } },
  { randomBytes: seededRandomBytes(11) },
);
const ALL = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

const plain = (username: string, password: string): Buffer => Buffer.from(`\0${username}\0${password}`);

describe("SASL over SaslHandshake v1 and SaslAuthenticate", () => {
  test("SCRAM-SHA-512 in two SaslAuthenticate round trips sets the principal", () => {
    const connection = newConnection();
    assert.equal(needsAuthentication(users, connection), true);
    assert.deepEqual(saslHandshake(connection, users, "SCRAM-SHA-512", 1), { errorCode: 0, mechanisms: ALL });
    assert.equal(connection.saslMechanism, "SCRAM-SHA-512");
    assert.equal(expectsRawSaslToken(connection), false);

    const client = new ScramTestClient("sha512", "alice", "alice-secret", "kafka-client-nonce");
    const first = saslAuthenticate(connection, Buffer.from(client.clientFirst()));
    assert.equal(first.errorCode, ErrorCode.NONE);
    assert.equal(connection.principal, null);
    const final = saslAuthenticate(connection, Buffer.from(client.clientFinal(first.authBytes.toString())));
    assert.deepEqual(final, {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      authBytes: Buffer.from(client.expectedServerFinal()),
      sessionLifetimeMs: 0,
    });
    assert.equal(connection.principal, "alice");
    assert.equal(needsAuthentication(users, connection), false);
    assert.equal(mustCloseAfterResponse(connection), false);
  });

  test("a wrong password answers SASL_AUTHENTICATION_FAILED with the reason and marks the connection to close", () => {
    const connection = newConnection();
    saslHandshake(connection, users, "PLAIN", 1);
    const response = saslAuthenticate(connection, plain("alice", "wrong"));
    assert.equal(response.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.equal(response.errorMessage, "Authentication failed: invalid username or password");
    assert.equal(connection.principal, null);
    assert.equal(mustCloseAfterResponse(connection), true);
    // Nothing more can happen on this connection, even if the server did not close it.
    assert.equal(saslAuthenticate(connection, plain("alice", "alice-secret")).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    assert.equal(connection.principal, null);
  });

  test("a malformed token fails the same way instead of throwing", () => {
    const connection = newConnection();
    saslHandshake(connection, users, "SCRAM-SHA-256", 1);
    const response = saslAuthenticate(connection, Buffer.from([0xff, 0x00, 0x2c]));
    assert.equal(response.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.match(response.errorMessage ?? "", /Invalid SCRAM client-first message/);
    assert.equal(mustCloseAfterResponse(connection), true);
  });

  test("an unsupported mechanism is answered with the enabled ones, then the connection closes", () => {
    const connection = newConnection();
    assert.deepEqual(saslHandshake(connection, users, "GSSAPI", 1), {
      errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      mechanisms: ALL,
    });
    assert.equal(mustCloseAfterResponse(connection), true);
    const scramOnly = new SaslUserStore({ mechanisms: ["SCRAM-SHA-256"], users: { alice: "x" } });
    assert.deepEqual(saslHandshake(newConnection(), scramOnly, "PLAIN", 1).mechanisms, ["SCRAM-SHA-256"]);
  });

  test("with SASL switched off a handshake gets UNSUPPORTED_SASL_MECHANISM and an empty list", () => {
    const connection = newConnection();
    assert.equal(needsAuthentication(null, connection), false);
    assert.deepEqual(saslHandshake(connection, null, "PLAIN", 1), {
      errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      mechanisms: [],
    });
  });

  test("a second handshake before authentication is an illegal state that closes the connection", () => {
    const connection = newConnection();
    saslHandshake(connection, users, "PLAIN", 1);
    assert.equal(saslHandshake(connection, users, "PLAIN", 1).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    assert.equal(mustCloseAfterResponse(connection), true);
  });

  test("SaslAuthenticate without a handshake, or after a v0 handshake, is an illegal state that closes", () => {
    const withoutHandshake = newConnection();
    const response = saslAuthenticate(withoutHandshake, plain("alice", "alice-secret"));
    assert.equal(response.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    assert.match(response.errorMessage ?? "", /must follow a successful SaslHandshake of version 1/);
    assert.equal(withoutHandshake.principal, null);
    assert.equal(mustCloseAfterResponse(withoutHandshake), true);

    const afterV0 = newConnection();
    saslHandshake(afterV0, users, "PLAIN", 0);
    assert.equal(saslAuthenticate(afterV0, plain("alice", "alice-secret")).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    assert.equal(afterV0.principal, null);
  });

  test("after authentication, handshake and authenticate get ILLEGAL_SASL_STATE and the connection stays", () => {
    const connection = newConnection();
    saslHandshake(connection, users, "PLAIN", 1);
    saslAuthenticate(connection, plain("alice", "alice-secret"));
    assert.equal(connection.principal, "alice");
    assert.deepEqual(saslHandshake(connection, users, "PLAIN", 1), {
      errorCode: ErrorCode.ILLEGAL_SASL_STATE,
      mechanisms: ALL,
    });
    const again = saslAuthenticate(connection, plain("alice", "alice-secret"));
    assert.equal(again.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    assert.match(again.errorMessage ?? "", /after successful authentication/);
    assert.equal(mustCloseAfterResponse(connection), false);
    assert.equal(connection.principal, "alice");
  });

  test("every response encodes and decodes with the wire codec in each version served", () => {
    const connection = newConnection();
    const handshake = saslHandshake(connection, users, "PLAIN", 1);
    for (const version of [0, 1]) {
      const bytes = encodeMessage(SaslHandshakeResponseSchema, version, handshake).finish();
      const decoded = decodeMessage<SaslHandshakeResponse>(SaslHandshakeResponseSchema, version, new Reader(bytes));
      assert.deepEqual(decoded, handshake);
    }
    const failed = saslAuthenticate(connection, plain("alice", "nope"));
    const sizes: number[] = [];
    for (const version of [0, 1, 2]) {
      const bytes = Buffer.from(encodeMessage(SaslAuthenticateResponseSchema, version, failed).finish());
      sizes.push(bytes.length);
      const decoded = decodeMessage<SaslAuthenticateResponse>(
        SaslAuthenticateResponseSchema,
        version,
        new Reader(bytes),
      );
      assert.equal(decoded.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
      assert.equal(decoded.errorMessage, failed.errorMessage);
      assert.equal(decoded.sessionLifetimeMs, 0);
    }
    // Version 1 adds the 8-byte session lifetime.
    assert.equal(sizes[1]! - sizes[0]!, 8);
  });

  test("only ApiVersions, SaslHandshake and SaslAuthenticate are allowed before authentication", () => {
    assert.deepEqual(
      [0, 1, 3, 17, 18, 36, 42].filter((apiKey) => isAllowedBeforeAuthentication(apiKey)),
      [17, 18, 36],
    );
  });
});

describe("SASL over SaslHandshake v0 with raw tokens (KIP-43)", () => {
  test("PLAIN: one raw token, answered with an empty token", () => {
    const connection = newConnection();
    assert.equal(saslHandshake(connection, users, "PLAIN", 0).errorCode, ErrorCode.NONE);
    assert.equal(expectsRawSaslToken(connection), true);
    assert.deepEqual(handleRawSaslToken(connection, plain("alice", "alice-secret")), {
      response: Buffer.alloc(0),
      done: true,
    });
    assert.equal(connection.principal, "alice");
    assert.equal(expectsRawSaslToken(connection), false);
  });

  test("SCRAM-SHA-256: two raw tokens", () => {
    const connection = newConnection();
    saslHandshake(connection, users, "SCRAM-SHA-256", 0);
    const client = new ScramTestClient("sha256", "alice", "alice-secret", "raw-nonce");
    const first = handleRawSaslToken(connection, Buffer.from(client.clientFirst()));
    assert.equal(first.done, false);
    assert.equal(expectsRawSaslToken(connection), true);
    const final = handleRawSaslToken(connection, Buffer.from(client.clientFinal(first.response.toString())));
    assert.deepEqual(final, { response: Buffer.from(client.expectedServerFinal()), done: true });
    assert.equal(connection.principal, "alice");
  });

  test("a failed raw exchange throws, so the server closes without answering", () => {
    const connection = newConnection();
    saslHandshake(connection, users, "PLAIN", 0);
    assert.throws(
      () => handleRawSaslToken(connection, plain("alice", "wrong")),
      (error: unknown) =>
        error instanceof SaslAuthenticationError && /invalid username or password/.test(error.message),
    );
    assert.equal(connection.principal, null);
    assert.equal(expectsRawSaslToken(connection), false);
    assert.equal(mustCloseAfterResponse(connection), true);
  });

  test("a raw token without a v0 handshake is refused", () => {
    const connection = newConnection();
    assert.throws(() => handleRawSaslToken(connection, plain("alice", "alice-secret")), SaslAuthenticationError);
    const afterV1 = newConnection();
    saslHandshake(afterV1, users, "PLAIN", 1);
    assert.throws(() => handleRawSaslToken(afterV1, plain("alice", "alice-secret")), /SaslHandshake of version 0/);
    assert.equal(afterV1.principal, null);
  });
});
