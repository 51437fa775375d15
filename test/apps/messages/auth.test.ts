// The board with sign-in: anonymous by default with signed-in users named as authors, and switched to require a
// token for posting, listing and WebSocket subscriptions.

import assert from "node:assert/strict";
import { test } from "node:test";

import { WebSocket } from "ws";

import { boardForTest, request, waitUntilStored, type MessageBody } from "./harness.js";

async function register(url: string, username: string): Promise<string> {
  const response = await request(`${url}/api/auth/register`, { json: { username, password: "correct horse battery" } });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return (response.body as { token: string }).token;
}

/** The first message the gateway sends on a new connection, or the close code when it closes first. */
function firstAnswer(url: string, protocols: string[]): Promise<string> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws`, protocols);
  return new Promise((resolve, reject) => {
    ws.once("error", reject);
    ws.once("open", () => ws.send(JSON.stringify({ type: "subscribe", topic: "messages.saved" })));
    ws.on("message", (data: Buffer) => {
      const frame = JSON.parse(data.toString("utf8")) as { type: string; code?: string };
      if (frame.type === "welcome") return;
      ws.close();
      resolve(frame.type === "error" ? `error ${frame.code ?? ""}` : frame.type);
    });
    ws.once("close", (code) => resolve(`closed ${code}`));
  });
}

test("optional sign-in: anyone posts, signed-in users are named", { timeout: 60_000 }, async (t) => {
  const { url } = await boardForTest(t);
  const token = await register(url, "ada");
  const named = await request(`${url}/api/messages`, {
    json: { text: "signed" },
    headers: { authorization: `Bearer ${token}` },
  });
  const anonymous = await request(`${url}/api/messages`, { json: { text: "unsigned" } });
  assert.equal(named.status, 202);
  assert.equal(anonymous.status, 202);
  const ids = [named, anonymous].map((response) => (response.body as { id: string }).id);
  const stored = await waitUntilStored(url, ids);
  const authorOf = (id: string) => stored.find((message: MessageBody) => message.id === id)?.author;
  assert.equal(authorOf(ids[0] as string), "ada");
  assert.equal(authorOf(ids[1] as string), null);

  const forged = await request(`${url}/api/messages`, {
    json: { text: "forged" },
    headers: { authorization: "Bearer not.a.token" },
  });
  assert.equal(forged.status, 401, "a bad token is refused rather than ignored");
  assert.equal((forged.body as { error: string }).error, "SLUICE_UNAUTHORIZED");
});

test("required sign-in: the board's API and live updates need a token", { timeout: 60_000 }, async (t) => {
  const { url } = await boardForTest(t, { flags: ["--auth-mode", "required"] });
  for (const [path, init] of [
    ["/api/messages", { json: { text: "anonymous" } }],
    ["/api/messages", {}],
    ["/save?data=anonymous", {}],
    ["/view", {}],
  ] as const) {
    const response = await request(`${url}${path}`, init);
    assert.equal(response.status, 401, `${path}: ${JSON.stringify(response.body)}`);
    assert.equal((response.body as { error: string }).error, "SLUICE_UNAUTHORIZED");
  }
  assert.equal((await fetch(`${url}/`)).status, 200, "the page itself loads, to let users sign in");
  for (const path of ["/view", "/save?data=anonymous"]) {
    const browser = await fetch(`${url}${path}`, { headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
    assert.equal(browser.status, 401, path);
    assert.match(browser.headers.get("content-type") ?? "", /^text\/html/, `${path} answers a browser a page`);
    const page = await browser.text();
    assert.match(page, /<a href="\/">Sign in on the board<\/a>/, path);
    assert.doesNotMatch(page, /Bearer|POST \/api\/auth|"type"/, `${path}: no protocol text for visitors`);
  }

  const token = await register(url, "grace");
  const posted = await request(`${url}/api/messages`, {
    json: { text: "with a token" },
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(posted.status, 202);
  const id = (posted.body as { id: string }).id;
  const signedIn = { authorization: `Bearer ${token}` };
  const stored = await waitUntilStored(url, [id], 20_000, signedIn);
  assert.equal(stored.find((message) => message.id === id)?.author, "grace");

  assert.notEqual(await firstAnswer(url, ["sluice.v1"]), "subscribed", "an anonymous socket may not subscribe");
  assert.equal(await firstAnswer(url, ["sluice.v1", `sluice.token.${token}`]), "subscribed");
});
