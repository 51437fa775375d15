import assert from "node:assert/strict";
import { test } from "node:test";

import { GatewayError } from "../../../src/gateway/errors.js";
import { DEFAULT_PASSWORD_HASH_PARAMETERS, PasswordHasher } from "../../../src/gateway/auth/passwords.js";

/** Cheap parameters for the tests that are about behaviour rather than strength. */
const FAST = { cost: 2 ** 10, blockSize: 8, parallelization: 1 };

test("the default parameters hash with scrypt, and the stored form names them", async () => {
  const hasher = new PasswordHasher();
  const stored = await hasher.hash("correct horse battery staple");
  const { cost, blockSize, parallelization } = DEFAULT_PASSWORD_HASH_PARAMETERS;
  assert.match(
    stored,
    new RegExp(`^scrypt\\$${cost}\\$${blockSize}\\$${parallelization}\\$[A-Za-z0-9_-]{22}\\$[A-Za-z0-9_-]{43}$`),
  );
  assert.ok(cost * blockSize * 128 >= 32 * 1024 * 1024, "each hash must need at least 32 MiB");
  assert.equal(await hasher.verify("correct horse battery staple", stored), true);
  assert.equal(await hasher.verify("correct horse battery stapler", stored), false);
});

test("equal passwords get different salts, and a hash verifies under other default parameters", async () => {
  const fast = new PasswordHasher({ parameters: FAST });
  const first = await fast.hash("same password");
  const second = await fast.hash("same password");
  assert.notEqual(first, second);
  const stronger = new PasswordHasher({ parameters: { ...FAST, cost: 2 ** 11 } });
  assert.equal(await stronger.verify("same password", first), true);
  assert.equal(await stronger.verify("same password", second), true);
});

test("passwords are compared after Unicode normalisation", async () => {
  const hasher = new PasswordHasher({ parameters: FAST });
  const composed = "caf\u00e9 au lait";
  const decomposed = "cafe\u0301 au lait";
  assert.equal(await hasher.verify(decomposed, await hasher.hash(composed)), true);
});

test("tampered or foreign hashes never verify, and never demand unbounded memory", async () => {
  const hasher = new PasswordHasher({ parameters: FAST });
  const stored = await hasher.hash("secret password");
  const parts = stored.split("$");
  const key = parts[5] ?? "";
  const alteredKey = `${key.startsWith("A") ? "B" : "A"}${key.slice(1)}`;
  const variants = [
    "",
    "plain text",
    "$2b$10$abcdefghijklmnopqrstuv",
    parts.slice(0, 5).join("$"),
    [parts[0], 2 ** 30, ...parts.slice(2)].join("$"),
    [parts[0], 1000, ...parts.slice(2)].join("$"),
    [...parts.slice(0, 5), alteredKey].join("$"),
  ];
  for (const variant of variants) {
    assert.equal(await hasher.verify("secret password", variant), false, `verified ${variant}`);
  }
});

test("the decoy verification for unknown users never succeeds", async () => {
  const hasher = new PasswordHasher({ parameters: FAST });
  assert.equal(await hasher.verifyDecoy("anything"), false);
});

test("hashes beyond the concurrency and queue limits are refused with 503, not queued without end", async () => {
  const hasher = new PasswordHasher({ parameters: FAST, concurrencyMax: 1, queueMax: 2 });
  const results = await Promise.allSettled(Array.from({ length: 6 }, (_, index) => hasher.hash(`password-${index}`)));
  const fulfilled = results.filter((result) => result.status === "fulfilled");
  const rejected = results.filter((result): result is PromiseRejectedResult => result.status === "rejected");
  assert.equal(fulfilled.length, 3);
  assert.equal(rejected.length, 3);
  for (const { reason } of rejected) {
    assert.ok(reason instanceof GatewayError);
    assert.equal(reason.code, "SLUICE_UNAVAILABLE");
    assert.equal(reason.statusCode, 503);
  }
  // The slots are free again afterwards.
  assert.equal(await hasher.verify("password-0", await hasher.hash("password-0")), true);
});

test("parameters are checked when the hasher is made", () => {
  assert.throws(() => new PasswordHasher({ parameters: { cost: 1000 } }), /cost must be a power of two/);
  assert.throws(() => new PasswordHasher({ parameters: { blockSize: 0 } }), /blockSize/);
  assert.throws(() => new PasswordHasher({ parameters: { parallelization: 100 } }), /parallelization/);
  assert.throws(() => new PasswordHasher({ concurrencyMax: 0 }), /passwordHashConcurrencyMax/);
});
