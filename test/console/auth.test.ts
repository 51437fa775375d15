// The console with auth required: anonymous requests are refused, a viewer sees everything and changes nothing, an
// admin changes, and the audit log names who did what.

import assert from "node:assert/strict";
import { test } from "node:test";

import { api, consoleForTest, requiredAuthForTest } from "./harness.js";

test("auth required: viewers see, admins change, the audit log names them", async (t) => {
  const { auth, adminToken, viewerToken } = await requiredAuthForTest(t);
  const scene = await consoleForTest(t, { auth });
  const as = (token: string) => ({ authorization: `Bearer ${token}` });

  assert.equal((await api(scene, "GET", "/api/topics")).status, 401);
  const anonymousSession = await api(scene, "GET", "/api/session");
  assert.deepEqual(
    [anonymousSession.status, anonymousSession.body.authMode, anonymousSession.body.user],
    [200, "required", null],
  );
  assert.deepEqual((await api(scene, "GET", "/api/session", undefined, as(viewerToken))).body.user, {
    username: "bob",
    roles: [],
  });

  const created = await api(scene, "POST", "/api/topics", { name: "ledger", partitions: 1 }, as(adminToken));
  assert.equal(created.status, 201);
  assert.equal((await api(scene, "GET", "/api/topics", undefined, as(viewerToken))).body.topics.length, 1);

  const refusals = [
    await api(scene, "POST", "/api/topics", { name: "other" }, as(viewerToken)),
    await api(scene, "POST", "/api/topics/ledger/messages", { value: "x" }, as(viewerToken)),
    await api(scene, "DELETE", "/api/topics/ledger?confirm=ledger", undefined, as(viewerToken)),
    await api(scene, "POST", "/api/groups/g/reset", { topic: "ledger", to: "earliest" }, as(viewerToken)),
  ];
  for (const refused of refusals) {
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error, "SLUICE_FORBIDDEN");
  }
  assert.equal((await api(scene, "GET", "/api/topics/ledger/messages", undefined, as(viewerToken))).status, 200);

  const produced = await api(scene, "POST", "/api/topics/ledger/messages", { value: "entry" }, as(adminToken));
  assert.equal(produced.status, 201);
  const audit = await api(scene, "GET", "/api/audit", undefined, as(viewerToken));
  assert.deepEqual(
    audit.body.entries.map((entry: { user: string; action: string; target: string }) => [
      entry.user,
      entry.action,
      entry.target,
    ]),
    [
      ["ada", "message.produce", "ledger"],
      ["ada", "topic.create", "ledger"],
    ],
  );
});
