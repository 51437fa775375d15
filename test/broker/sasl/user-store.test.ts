import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  SASL_USERS_MAX,
  SaslUserStore,
  saslUserStoreFor,
  type SaslUsersConfig,
} from "../../../src/broker/sasl/user-store.js";
import type { SaslMechanism } from "../../../src/broker/config.js";

describe("SaslUserStore", () => {
  test("derives SCRAM credentials only for the enabled SCRAM mechanisms, with 4096 iterations", () => {
    const store = new SaslUserStore({ mechanisms: ["SCRAM-SHA-512", "PLAIN"], users: { alice: "secret" } });
    assert.deepEqual(store.mechanisms, ["PLAIN", "SCRAM-SHA-512"]);
    assert.equal(store.scramCredential("SCRAM-SHA-256", "alice"), null);
    const credential = store.scramCredential("SCRAM-SHA-512", "alice");
    assert.ok(credential !== null);
    assert.equal(credential.iterations, 4096);
    assert.equal(credential.storedKey.length, 64);
    assert.equal(credential.serverKey.length, 64);
    assert.equal(store.scramCredential("SCRAM-SHA-512", "bob"), null);
  });

  test("gives each store its own random salts, so equal passwords do not share credentials", () => {
    const config: SaslUsersConfig = { mechanisms: ["SCRAM-SHA-256"], users: { alice: "same", bob: "same" } };
    const one = new SaslUserStore(config);
    const two = new SaslUserStore(config);
    const salts = [one, two].flatMap((store) =>
      ["alice", "bob"].map((name) => store.scramCredential("SCRAM-SHA-256", name)?.salt.toString("hex")),
    );
    assert.equal(new Set(salts).size, 4);
  });

  test("checks PLAIN passwords", () => {
    const store = new SaslUserStore({ mechanisms: ["PLAIN"], users: { alice: "secret" } });
    assert.equal(store.verifyPassword("alice", Buffer.from("secret")), true);
    assert.equal(store.verifyPassword("alice", Buffer.from("secret2")), false);
    assert.equal(store.verifyPassword("bob", Buffer.from("secret")), false);
  });

  const invalid: ReadonlyArray<[string, SaslUsersConfig, RegExp]> = [
    ["no mechanisms", { mechanisms: [], users: {} }, /at least one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/],
    [
      "an unknown mechanism",
      { mechanisms: ["GSSAPI" as SaslMechanism], users: {} },
      /GSSAPI is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/,
    ],
    ["an empty user name", { mechanisms: ["PLAIN"], users: { "": "secret" } }, /user name "" must be 1 to/],
    ["a NUL in a user name", { mechanisms: ["PLAIN"], users: { "a\0b": "secret" } }, /without NUL/],
    ["an empty password", { mechanisms: ["PLAIN"], users: { alice: "" } }, /password of "alice"/],
    [
      "a password that is not a string",
      { mechanisms: ["PLAIN"], users: { alice: 42 as unknown as string } },
      /password of "alice"/,
    ],
    [
      "users that are not an object",
      { mechanisms: ["PLAIN"], users: null as unknown as Record<string, string> },
      /object/,
    ],
  ];
  for (const [name, config, pattern] of invalid) {
    test(`refuses a configuration with ${name}`, () => {
      assert.throws(() => new SaslUserStore(config), pattern);
    });
  }

  test("refuses more users than SASL_USERS_MAX before deriving anything", () => {
    const users = Object.fromEntries(Array.from({ length: SASL_USERS_MAX + 1 }, (_, index) => [`u${index}`, "p"]));
    assert.throws(() => new SaslUserStore({ mechanisms: ["SCRAM-SHA-512"], users }), /at most 10000 are allowed/);
  });

  test("saslUserStoreFor derives once per configuration object", () => {
    const config: SaslUsersConfig = { mechanisms: ["SCRAM-SHA-256"], users: { alice: "secret" } };
    const first = saslUserStoreFor(config);
    assert.equal(saslUserStoreFor(config), first);
    assert.notEqual(saslUserStoreFor({ ...config }), first);
  });
});
