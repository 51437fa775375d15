import assert from "node:assert/strict";

import { addOutboxEvents, OUTBOX_NOTIFY_CHANNEL, StoreError, StoreErrorCode } from "../../src/store/index.js";
import { adminQuery, storeTest, testOnEveryPgliteThread, waitFor } from "./harness.js";

testOnEveryPgliteThread();

storeTest("listen delivers NOTIFY payloads until unsubscribed", async (_t, target) => {
  const db = await target.open({ migrate: false });
  const first: string[] = [];
  const second: string[] = [];
  const stopFirst = await db.listen("sluice_test_channel", (payload) => first.push(payload));
  const stopSecond = await db.listen("sluice_test_channel", (payload) => second.push(payload));
  assert.equal(db.supportsListen, true);

  await db.query("SELECT pg_notify('sluice_test_channel', $1)", ["hello"]);
  await db.query("SELECT pg_notify('sluice_other_channel', 'not for us')");
  await waitFor("both subscribers to get the notification", () => first.length === 1 && second.length === 1);
  assert.deepEqual(first, ["hello"]);
  assert.deepEqual(second, ["hello"]);

  await stopFirst();
  await stopFirst();
  await db.query("SELECT pg_notify('sluice_test_channel', 'again')");
  await waitFor("the remaining subscriber to get the second notification", () => second.length === 2);
  assert.deepEqual(second, ["hello", "again"]);

  await stopSecond();
  await db.query("SELECT pg_notify('sluice_test_channel', 'unheard')");
  // A marker on another channel, sent after, proves the unheard one had its chance to arrive.
  const markers: string[] = [];
  const stopMarker = await db.listen("sluice_marker_channel", (payload) => markers.push(payload));
  await db.query("SELECT pg_notify('sluice_marker_channel', 'marker')");
  await waitFor("the marker notification", () => markers.length === 1);
  assert.deepEqual(first, ["hello"]);
  assert.deepEqual(second, ["hello", "again"]);
  await stopMarker();
});

storeTest("notifications arrive on commit and never from a rolled-back transaction", async (_t, target) => {
  const db = await target.open({ migrate: false });
  const received: string[] = [];
  await db.listen("sluice_test_channel", (payload) => received.push(payload));
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query("SELECT pg_notify('sluice_test_channel', 'rolled back')");
      throw new Error("abort");
    }),
  );
  await db.transaction(async (tx) => {
    await tx.query("SELECT pg_notify('sluice_test_channel', 'committed')");
  });
  await waitFor("the committed notification", () => received.length >= 1);
  await db.query("SELECT pg_notify('sluice_test_channel', 'last')");
  await waitFor("the last notification", () => received.length >= 2);
  assert.deepEqual(received, ["committed", "last"]);
});

storeTest("adding outbox rows notifies sluice_outbox with the schema as payload", async (_t, target) => {
  const db = await target.open();
  const endMarker = `end of ${target.schema}`;
  const received: string[] = [];
  // The channel is the whole server's: runs beside this one (other schemas) notify it too, and are not counted.
  await db.listen(OUTBOX_NOTIFY_CHANNEL, (payload) => {
    if (payload === target.schema || payload === endMarker) received.push(payload);
  });
  await db.transaction((tx) =>
    addOutboxEvents(tx, [
      { topic: "orders", key: "a", value: "1" },
      { topic: "orders", key: "b", value: "2" },
    ]),
  );
  await waitFor("the outbox notification", () => received.length >= 1);
  // One INSERT statement notifies once.
  await db.query("SELECT pg_notify('sluice_outbox', $1)", [endMarker]);
  await waitFor("the end marker", () => received.includes(endMarker));
  assert.deepEqual(received, [target.schema, endMarker]);
});

storeTest("a subscriber that throws does not disturb the others", async (_t, target) => {
  const db = await target.open({ migrate: false });
  const received: string[] = [];
  await db.listen("sluice_test_channel", () => {
    throw new Error("subscriber bug");
  });
  await db.listen("sluice_test_channel", (payload) => received.push(payload));
  await db.query("SELECT pg_notify('sluice_test_channel', 'one')");
  await db.query("SELECT pg_notify('sluice_test_channel', 'two')");
  await waitFor("both notifications", () => received.length === 2);
  assert.deepEqual(received, ["one", "two"]);
});

storeTest("channel names are checked before they reach SQL", async (_t, target) => {
  const db = await target.open({ migrate: false });
  await assert.rejects(
    db.listen("x; DROP TABLE y", () => undefined),
    (error: unknown) => error instanceof StoreError && error.code === StoreErrorCode.INVALID_ARGUMENT,
  );
});

storeTest(
  "the LISTEN connection comes back after the server drops it",
  async (_t, target) => {
    const applicationName = `sluice-test-${process.pid}-${target.schema.slice(-6)}`;
    const db = await target.open({ migrate: false, applicationName, listenReconnectDelayMsMax: 200 });
    const received: string[] = [];
    await db.listen("sluice_test_channel", (payload) => received.push(payload));
    const terminated = await adminQuery<{ terminated: boolean }>(
      "SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE application_name = $1",
      [`${applicationName}-listen`],
    );
    assert.deepEqual(terminated, [{ terminated: true }]);
    // Notifications sent while the connection is down are lost, so keep sending until one arrives.
    let sent = 0;
    await waitFor(
      "a notification after reconnecting",
      async () => {
        if (received.length > 0) return true;
        sent += 1;
        await db.query("SELECT pg_notify('sluice_test_channel', $1)", [`try ${sent}`]);
        return false;
      },
      10_000,
      50,
    );
    const listeners = await adminQuery("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [
      `${applicationName}-listen`,
    ]);
    assert.equal(listeners.length, 1);
  },
  { kinds: ["postgres"] },
);
