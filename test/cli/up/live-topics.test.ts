// What `sluice up` makes of the apps' declarations for browsers: the WebSocket gateway applies every app's live
// topics (also those of apps that do not run in the process), and an app with accounts of its own, served alone at
// the root, answers /api/auth/* there instead of the gateway.

import assert from "node:assert/strict";
import { test } from "node:test";

import type { AppManifest } from "../../../src/apps/app.js";
import { messagesApp } from "../../../src/apps/messages/manifest.js";
import { startSystem } from "../../../src/cli/up/system.js";
import { request } from "../../apps/messages/harness.js";
import { TestClient } from "../../gateway/websocket/fixture.js";
import { fixtureApp } from "./fixture-app.js";
import { configFor, silent } from "./harness.js";

const guardedFixture: AppManifest = {
  ...fixtureApp,
  liveTopics: [{ topic: "fixture.entries", access: "signed-in" }],
  ownAccountRoutes: true,
};

test("the gateway applies the apps' live topic declarations", { timeout: 120_000 }, async (t) => {
  const system = await startSystem(configFor(t, [guardedFixture]), {}, silent);
  t.after(() => system.stop());
  const url = system.addresses.http as string;
  const ws = `${url.replace(/^http/, "ws")}/ws`;

  const anonymous = await TestClient.open(t, ws);
  anonymous.send({ type: "subscribe", topic: "fixture.entries", id: 1 });
  const refused = await anonymous.waitForType("error", 1);
  assert.equal(refused.code, "SLUICE_UNAUTHORIZED", "the fixture declared its topic for signed-in users");
  anonymous.send({ type: "subscribe", topic: "fixture.entries.dlt", id: 2 });
  assert.equal((await anonymous.waitForType("error", 2)).code, "SLUICE_FORBIDDEN", "its dead letters never");
});

test(
  "an app with its own accounts answers /api/auth/* at the root when it runs alone, and not beside others",
  { timeout: 120_000 },
  async (t) => {
    const alone = await startSystem(configFor(t, [guardedFixture]), {}, silent);
    t.after(() => alone.stop());
    const aloneUrl = alone.addresses.http as string;
    const register = await request(`${aloneUrl}/api/auth/register`, {
      json: { username: "grace", password: "long enough" },
    });
    assert.equal(register.status, 404, "the gateway's account routes are left to the app");

    const together = await startSystem(configFor(t, [messagesApp, guardedFixture]), {}, silent);
    t.after(() => together.stop());
    const togetherUrl = together.addresses.http as string;
    const registered = await request(`${togetherUrl}/api/auth/register`, {
      json: { username: "grace", password: "long enough" },
    });
    assert.equal(registered.status, 201, "with the fixture under its prefix, the root keeps the gateway's routes");
  },
);
