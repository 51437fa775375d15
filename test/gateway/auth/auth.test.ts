import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";

import type { LightMyRequestResponse } from "fastify";
import { pino } from "pino";
import { Registry } from "prom-client";

import { createAuth, type AuthMode } from "../../../src/gateway/auth/auth.js";
import { createGateway, type Gateway } from "../../../src/gateway/server.js";
import type { Database } from "../../../src/store/index.js";
import { storeTest } from "../../store/harness.js";

const SECRET = "a test secret that is comfortably longer than 32 bytes";
const FAST_HASHING = { cost: 2 ** 10, blockSize: 8, parallelization: 1 };

/** A gateway with auth in the given mode and one app route guarded by requireAuth. */
async function gatewayWithAuth(
  t: TestContext,
  mode: AuthMode,
  database: Database | null,
  adminUsers: readonly string[] = [],
): Promise<Gateway> {
  const auth = await createAuth({ mode, database, jwtSecret: SECRET, passwordHashing: FAST_HASHING, adminUsers });
  const gateway = await createGateway({ logger: pino({ level: "silent" }), metricsRegistry: new Registry(), auth });
  await gateway.register(async (app) => {
    app.get("/api/whoami", { preHandler: auth.requireAuth }, async (request) => ({
      user: request.user,
    }));
    app.get("/api/admin-only", { preHandler: auth.requireRole("admin") }, async () => ({ ok: true }));
    app.post("/api/app-token", { preHandler: auth.requireUser }, async () =>
      auth.issueToken({ userId: "app-user-1", username: "app-user", roles: ["employer"] }, 60),
    );
  });
  t.after(() => gateway.close());
  return gateway;
}

function post(gateway: Gateway, url: string, payload: unknown): Promise<LightMyRequestResponse> {
  return gateway.app.inject({ method: "POST", url, payload: payload as Record<string, unknown> });
}

function get(gateway: Gateway, url: string, token?: string): Promise<LightMyRequestResponse> {
  return gateway.app.inject({
    method: "GET",
    url,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

storeTest(
  "register stores a scrypt hash and answers with a working token; login signs in; names are unique",
  async (t, target) => {
    const database = await target.open();
    const gateway = await gatewayWithAuth(t, "optional", database);

    const registered = await post(gateway, "/api/auth/register", { username: "Ada", password: "analytical engine" });
    assert.equal(registered.statusCode, 201);
    const account = registered.json();
    assert.equal(account.username, "Ada");
    assert.match(account.userId, /^[0-9a-f-]{36}$/);
    assert.ok(Date.parse(account.expiresAt) > Date.now());

    const me = await get(gateway, "/api/auth/me", account.token);
    assert.equal(me.statusCode, 200);
    assert.deepEqual(me.json(), { userId: account.userId, username: "Ada", roles: [], authMode: "optional" });

    const { rows } = await database.query<{ username: string; password_hash: string }>(
      "SELECT username, password_hash FROM sluice_users",
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.username, "Ada");
    assert.match(rows[0]?.password_hash ?? "", /^scrypt\$1024\$8\$1\$/);
    assert.doesNotMatch(rows[0]?.password_hash ?? "", /analytical/);

    const login = await post(gateway, "/api/auth/login", { username: "ada", password: "analytical engine" });
    assert.equal(login.statusCode, 200);
    assert.equal(login.json().userId, account.userId);
    assert.equal(login.json().username, "Ada");
    const whoami = await get(gateway, "/api/whoami", login.json().token);
    assert.deepEqual(whoami.json(), { user: { userId: account.userId, username: "Ada", roles: [] } });

    // Usernames are unique regardless of case, also when registrations race.
    assert.equal(
      (await post(gateway, "/api/auth/register", { username: "grace", password: "compiler1" })).statusCode,
      201,
    );
    const again = await post(gateway, "/api/auth/register", { username: "GRACE", password: "compiler2" });
    assert.equal(again.statusCode, 409);
    assert.deepEqual(again.json(), {
      error: "SLUICE_CONFLICT",
      message: 'the username "GRACE" is taken; choose another',
      field: "username",
    });

    const racing = await Promise.all(
      ["Linus", "linus", "LINUS"].map((username) =>
        post(gateway, "/api/auth/register", { username, password: "penguins!" }),
      ),
    );
    assert.deepEqual(racing.map((response) => response.statusCode).sort(), [201, 409, 409]);
    const linus = await database.query("SELECT id FROM sluice_users WHERE lower(username) = 'linus'");
    assert.equal(linus.rows.length, 1);
  },
);

storeTest(
  "a wrong password and an unknown user get the same 401; bad bodies get 400 naming the field",
  async (t, target) => {
    const database = await target.open();
    const gateway = await gatewayWithAuth(t, "optional", database);
    await post(gateway, "/api/auth/register", { username: "alan", password: "enigma machine" });
    const wrongPassword = await post(gateway, "/api/auth/login", { username: "alan", password: "bombe machine" });
    const unknownUser = await post(gateway, "/api/auth/login", { username: "nobody", password: "enigma machine" });
    const invalidName = await post(gateway, "/api/auth/login", { username: "no spaces allowed", password: "enigma" });
    for (const response of [wrongPassword, unknownUser, invalidName]) {
      assert.equal(response.statusCode, 401);
      assert.deepEqual(response.json(), {
        error: "SLUICE_INVALID_CREDENTIALS",
        message: "the username or the password is wrong",
      });
      assert.equal(response.headers["www-authenticate"], 'Bearer realm="sluice"');
    }

    // Bad bodies get 400 naming the field, and store nothing.
    const cases: [string, unknown, string][] = [
      ["/api/auth/register", [], "body"],
      ["/api/auth/register", { password: "long enough" }, "username"],
      ["/api/auth/register", { username: 42, password: "long enough" }, "username"],
      ["/api/auth/register", { username: "ab", password: "long enough" }, "username"],
      ["/api/auth/register", { username: "-starts-with-dash", password: "long enough" }, "username"],
      ["/api/auth/register", { username: "x".repeat(33), password: "long enough" }, "username"],
      ["/api/auth/register", { username: "valid_name" }, "password"],
      ["/api/auth/register", { username: "valid_name", password: "short" }, "password"],
      ["/api/auth/register", { username: "valid_name", password: "p".repeat(257) }, "password"],
      ["/api/auth/register", { username: "valid_name", password: ["not", "a", "string"] }, "password"],
      ["/api/auth/login", { username: "valid_name" }, "password"],
      ["/api/auth/login", { password: "whatever1" }, "username"],
    ];
    for (const [url, payload, field] of cases) {
      const response = await post(gateway, url, payload);
      assert.equal(response.statusCode, 400, `${url} ${JSON.stringify(payload)}`);
      assert.equal(response.json().error, "SLUICE_VALIDATION_FAILED");
      assert.equal(response.json().field, field, `${url} ${JSON.stringify(payload)}`);
    }
    const { rows } = await database.query("SELECT username FROM sluice_users");
    assert.deepEqual(rows, [{ username: "alan" }]);
  },
);

storeTest(
  "authMode required refuses anonymous requests; optional serves them; both refuse bad tokens",
  async (t, target) => {
    const database = await target.open();
    const required = await gatewayWithAuth(t, "required", database);
    const optional = await gatewayWithAuth(t, "optional", database);
    const token = (await post(required, "/api/auth/register", { username: "hopper", password: "cobol rules" })).json()
      .token as string;

    const anonymousRequired = await get(required, "/api/whoami");
    assert.equal(anonymousRequired.statusCode, 401);
    assert.equal(anonymousRequired.json().error, "SLUICE_UNAUTHORIZED");
    assert.match(anonymousRequired.json().message, /sign in first/);

    const signedInRequired = await get(required, "/api/whoami", token);
    assert.equal(signedInRequired.statusCode, 200);
    assert.equal(signedInRequired.json().user.username, "hopper");

    const anonymousOptional = await get(optional, "/api/whoami");
    assert.equal(anonymousOptional.statusCode, 200);
    assert.deepEqual(anonymousOptional.json(), { user: null });
    const signedInOptional = await get(optional, "/api/whoami", token);
    assert.equal(signedInOptional.json().user.username, "hopper");

    for (const gateway of [required, optional]) {
      const forged = await get(
        gateway,
        "/api/whoami",
        `${token.slice(0, -4)}${token.endsWith("AAAA") ? "BBBB" : "AAAA"}`,
      );
      assert.equal(forged.statusCode, 401);
      const malformed = await gateway.app.inject({
        method: "GET",
        url: "/api/whoami",
        headers: { authorization: "Basic dXNlcjpwYXNz" },
      });
      assert.equal(malformed.statusCode, 401);
      assert.match(malformed.json().message, /Bearer <token>/);
    }

    const anonymousMe = await get(optional, "/api/auth/me");
    assert.equal(anonymousMe.statusCode, 401);
  },
  { kinds: ["pglite"] },
);

test("authMode off serves everything anonymously and has no account routes", async (t) => {
  const gateway = await gatewayWithAuth(t, "off", null);
  const whoami = await get(gateway, "/api/whoami", "anything-at-all");
  assert.equal(whoami.statusCode, 200);
  assert.deepEqual(whoami.json(), { user: null });
  const register = await post(gateway, "/api/auth/register", { username: "nobody", password: "password" });
  assert.equal(register.statusCode, 404);
  assert.ok(gateway.auth !== null);
  await assert.rejects(gateway.auth.verifyToken("anything"), /turned off/);
});

test("auth options are checked: a database is needed unless auth is off, and the mode must be known", async () => {
  await assert.rejects(createAuth({ mode: "required" }), /pass auth.database/);
  await assert.rejects(
    createAuth({ mode: "sometimes" as AuthMode }),
    /authMode must be one of off, optional, required/,
  );
});

storeTest(
  "admin users get the admin role when they sign in; requireRole refuses others with 403; apps issue tokens",
  async (t, target) => {
    const database = await target.open();
    const gateway = await gatewayWithAuth(t, "optional", database, ["Grace"]);
    const admin = (
      await post(gateway, "/api/auth/register", { username: "grace", password: "compiler pioneer" })
    ).json();
    assert.deepEqual(admin.roles, ["admin"], "admin names match ignoring case");
    const user = (await post(gateway, "/api/auth/register", { username: "linus", password: "kernel hacker" })).json();
    assert.deepEqual(user.roles, []);
    const relogged = (
      await post(gateway, "/api/auth/login", { username: "grace", password: "compiler pioneer" })
    ).json();
    assert.deepEqual(relogged.roles, ["admin"]);

    assert.equal((await get(gateway, "/api/admin-only", admin.token)).statusCode, 200);
    const refused = await get(gateway, "/api/admin-only", user.token);
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().error, "SLUICE_FORBIDDEN");
    assert.match(refused.json().message, /"admin" role/);
    assert.equal((await get(gateway, "/api/admin-only")).statusCode, 401);

    const issued = await gateway.app.inject({
      method: "POST",
      url: "/api/app-token",
      headers: { authorization: `Bearer ${user.token}` },
    });
    const appToken = issued.json().token as string;
    const whoami = (await get(gateway, "/api/whoami", appToken)).json();
    assert.deepEqual(whoami.user, { userId: "app-user-1", username: "app-user", roles: ["employer"] });
  },
  { kinds: ["pglite"] },
);
