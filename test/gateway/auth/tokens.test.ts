import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";

import { SignJWT, UnsecuredJWT } from "jose";

import { GatewayError } from "../../../src/gateway/errors.js";
import { JWT_SECRET_FILE_NAME, loadOrCreateSecret, TokenService } from "../../../src/gateway/auth/tokens.js";
import { temporaryDir } from "../../helpers/environment.js";

const SECRET = "a test secret that is comfortably longer than 32 bytes";
const user = { userId: "7d0f3c1e-5a55-4b8e-9a59-2a7a3c0c6f11", username: "ada", roles: [] };

async function rejectsWith401(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof GatewayError);
    assert.equal(error.code, "SLUICE_UNAUTHORIZED");
    assert.equal(error.statusCode, 401);
    assert.match(error.message, message);
    return true;
  });
}

test("an issued token verifies back to its user and expires after the configured time", async () => {
  const tokens = await TokenService.create({ secret: SECRET, tokenTtlSeconds: 600 });
  const before = Date.now();
  const issued = await tokens.issue(user);
  assert.deepEqual(await tokens.verify(issued.token), user);
  const ttlMs = issued.expiresAt.getTime() - before;
  assert.ok(ttlMs > 598_000 && ttlMs <= 600_000, `expires in ${ttlMs} ms`);
});

test("roles travel in the token; a token with a malformed roles claim is refused", async () => {
  const tokens = await TokenService.create({ secret: SECRET });
  const employer = { ...user, roles: ["employer", "admin"] };
  assert.deepEqual(await tokens.verify((await tokens.issue(employer)).token), employer);
  const shortLived = await tokens.issue(user, 5);
  assert.ok(shortLived.expiresAt.getTime() - Date.now() <= 5_000);
  await assert.rejects(tokens.issue({ ...user, roles: ["Not A Role"] }), /roles must be/);
  await assert.rejects(tokens.issue(user, 0), /ttlSeconds/);
  const nowSeconds = Math.floor(Date.now() / 1000);
  const forgedRoles = await new SignJWT({ username: "ada", roles: "admin" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(user.userId)
    .setIssuer("sluice")
    .setExpirationTime(nowSeconds + 60)
    .sign(Buffer.from(SECRET, "utf8"));
  await rejectsWith401(tokens.verify(forgedRoles), /roles are not valid/);
});

test("expired, forged, unsigned, foreign-issuer and malformed tokens are refused with 401", async () => {
  const tokens = await TokenService.create({ secret: SECRET });
  const key = Buffer.from(SECRET, "utf8");
  const nowSeconds = Math.floor(Date.now() / 1000);

  const expired = await new SignJWT({ username: "ada" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(user.userId)
    .setIssuer("sluice")
    .setIssuedAt(nowSeconds - 120)
    .setExpirationTime(nowSeconds - 60)
    .sign(key);
  await rejectsWith401(tokens.verify(expired), /expired/);

  const otherSecret = await (await TokenService.create({ secret: `${SECRET}, but another one` })).issue(user);
  await rejectsWith401(tokens.verify(otherSecret.token), /not valid/);

  const unsigned = new UnsecuredJWT({ username: "ada" }).setSubject(user.userId).setIssuer("sluice").encode();
  await rejectsWith401(tokens.verify(unsigned), /not valid/);

  const foreignIssuer = await new SignJWT({ username: "ada" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(user.userId)
    .setIssuer("someone-else")
    .setExpirationTime(nowSeconds + 60)
    .sign(key);
  await rejectsWith401(tokens.verify(foreignIssuer), /not valid/);

  const noUser = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer("sluice")
    .setExpirationTime(nowSeconds + 60)
    .sign(key);
  await rejectsWith401(tokens.verify(noUser), /does not name a user/);

  await rejectsWith401(tokens.verify("not-a-jwt"), /not valid/);
  await rejectsWith401(tokens.verify(""), /no token/);
  await rejectsWith401(tokens.verify("x".repeat(5000)), /longer than 4096/);
});

test("a generated secret is kept private in the data directory and shared by every process using it", async (t) => {
  const dataDir = join(temporaryDir(t), "nested", "data");
  const first = await TokenService.create({ dataDir });
  const path = join(dataDir, JWT_SECRET_FILE_NAME);
  const mode = (await stat(path)).mode & 0o777;
  assert.equal(mode, 0o600);
  const second = await TokenService.create({ dataDir });
  const issued = await first.issue(user);
  assert.deepEqual(await second.verify(issued.token), user);

  const contents = await readFile(path, "utf8");
  assert.ok(Buffer.from(contents.trim(), "base64url").length >= 32);
});

test("processes creating the secret at the same moment all end up with the same one", async (t) => {
  const dataDir = temporaryDir(t);
  const secrets = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSecret(dataDir)));
  for (const secret of secrets) assert.deepEqual(secret, secrets[0]);
});

test("a configured secret wins over the data directory, and a short one is refused", async (t) => {
  const dataDir = temporaryDir(t);
  const configured = await TokenService.create({ secret: SECRET, dataDir });
  await assert.rejects(stat(join(dataDir, JWT_SECRET_FILE_NAME)), { code: "ENOENT" });
  const sameSecret = await TokenService.create({ secret: SECRET });
  assert.deepEqual(await sameSecret.verify((await configured.issue(user)).token), user);

  await assert.rejects(TokenService.create({ secret: "too short" }), /jwtSecret is 9 bytes; use at least 32/);
  await assert.rejects(TokenService.create({ secret: SECRET, tokenTtlSeconds: 0 }), /tokenTtlSeconds/);
});

test("a damaged secret file is reported by name instead of being replaced silently", async (t) => {
  const dataDir = temporaryDir(t);
  await writeFile(join(dataDir, JWT_SECRET_FILE_NAME), "short\n");
  await assert.rejects(TokenService.create({ dataDir }), /jwt-secret does not hold a usable token secret/);
});

test("without a secret or a data directory the secret lives in memory, and the caller is told", async () => {
  let told = false;
  const tokens = await TokenService.create({ onEphemeralSecret: () => (told = true) });
  assert.equal(told, true);
  assert.deepEqual(await tokens.verify((await tokens.issue(user)).token), user);
  const other = await TokenService.create({});
  await rejectsWith401(other.verify((await tokens.issue(user)).token), /not valid/);
});
