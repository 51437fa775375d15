import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { brokerForTest } from "../../helpers/broker.js";
import { startSystem, TestClient, uniqueTopic } from "./fixture.js";

test("while the broker is down a subscribe is answered SLUICE_UNAVAILABLE; live subscribers resume after it returns", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-ws-outage-"));
  const system = await startSystem(t, { topicOpenTimeoutMs: 1_500 }, { dataDir });
  const topic = uniqueTopic("outage");
  const other = uniqueTopic("outage");
  await system.createTopic(topic);
  await system.createTopic(other);
  const client = await TestClient.open(t, system.url);
  await client.subscribe({ topic });
  await system.produce(topic, [{ value: '"before"' }]);
  await client.waitForEvents(topic, 1);

  const port = system.broker.port;
  await system.broker.close();
  const asked = Date.now();
  client.send({ type: "subscribe", topic: other, id: "down" });
  const refused = await client.waitForType("error", "down");
  assert.equal(refused.code, "SLUICE_UNAVAILABLE");
  assert.ok(Date.now() - asked < 5_000, "the answer comes within the open timeout, not after a hang");

  await brokerForTest(t, { port, dataDir });
  // Added last, so it runs after the hooks that close the brokers writing into the directory.
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  await system.produce(topic, [{ value: '"after"' }]);
  const events = await client.waitForEvents(topic, 2, 30_000);
  assert.deepEqual(
    events.map((event) => [event.offset, event.value]),
    [
      [0, "before"],
      [1, "after"],
    ],
  );
  await client.subscribe({ topic: other });
});
