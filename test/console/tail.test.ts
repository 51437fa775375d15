// The live tail over real HTTP against an embedded broker: a stream of server-sent events that carries messages
// produced after it opened (and none from before), one partition or all, resumes from the positions a paused page
// hands back without missing any, refuses an unknown topic or partition and bad positions before streaming, and
// releases its reader when the page goes away.

import assert from "node:assert/strict";
import { test } from "node:test";

import { TAIL_EVENT_MESSAGES_MAX } from "../../src/console/tail.js";
import { consoleForTest } from "./harness.js";

const WAIT_MS = 20_000;

interface TailEvent {
  readonly name: string;
  // Events are read field by field below.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly data: any;
}

/** Opens a tail and collects its events until closed. */
async function openTail(url: string, path: string) {
  const controller = new AbortController();
  const response = await fetch(`${url}/console/api${path}`, {
    headers: { accept: "text/event-stream" },
    signal: controller.signal,
  });
  const events: TailEvent[] = [];
  const waiters: Array<() => void> = [];
  let ended = false;
  const reading = (async () => {
    if (!response.ok || response.body === null) return;
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    let pending = "";
    try {
      for (;;) {
        const { value: chunk, done } = await reader.read();
        if (done) break;
        pending += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = pending.indexOf("\n\n")) >= 0) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name !== undefined && data !== undefined) events.push({ name, data: JSON.parse(data) });
          for (const wake of waiters.splice(0)) wake();
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      ended = true;
      for (const wake of waiters.splice(0)) wake();
    }
  })();
  const waitFor = async (check: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + WAIT_MS;
    while (!check()) {
      if (ended || Date.now() > deadline)
        assert.fail(`the tail did not show ${what}; events: ${JSON.stringify(events)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  const messages = () =>
    events
      .filter((event) => event.name === "messages")
      .flatMap((event) => event.data.messages as Array<{ partition: number; offset: number; value: { text: string } }>);
  const close = async () => {
    controller.abort();
    await reading;
  };
  return { response, events, messages, waitFor, close };
}

test("live tail: new messages arrive as they are produced, from the end, one partition or all", async (t) => {
  const scene = await consoleForTest(t);
  const url = await scene.gateway.listen();
  await scene.kafka.admin.createTopics([{ name: "orders", partitions: 2 }]);
  await scene.kafka.produce({ topic: "orders", partition: 0, records: [{ value: "before-0" }, { value: "before-1" }] });

  const all = await openTail(url, "/topics/orders/tail");
  t.after(() => all.close());
  assert.equal(all.response.status, 200);
  assert.match(all.response.headers.get("content-type") ?? "", /^text\/event-stream/);
  await all.waitFor(() => all.events.some((event) => event.name === "start"), "its start");
  assert.deepEqual(all.events[0]!.data, { topic: "orders", positions: { "0": 2, "1": 0 } });
  assert.equal(scene.console.liveTails(), 1);

  const one = await openTail(url, "/topics/orders/tail?partition=1");
  t.after(() => one.close());
  await one.waitFor(() => one.events.some((event) => event.name === "start"), "its start");

  await scene.kafka.produce({ topic: "orders", partition: 0, records: [{ value: "live-a" }] });
  await scene.kafka.produce({ topic: "orders", partition: 1, records: [{ value: "live-b" }, { value: "live-c" }] });
  await all.waitFor(() => all.messages().length === 3, "three new messages");
  assert.deepEqual(
    all
      .messages()
      .map((message) => `${message.partition}:${message.offset}:${message.value.text}`)
      .sort(),
    ["0:2:live-a", "1:0:live-b", "1:1:live-c"],
  );
  await one.waitFor(() => one.messages().length === 2, "partition 1's two new messages");
  assert.deepEqual(
    one.messages().map((message) => message.value.text),
    ["live-b", "live-c"],
  );
  const last = all.events.filter((event) => event.name === "messages").at(-1)!;
  assert.deepEqual(last.data.positions, { "0": 3, "1": 2 });

  await one.close();
  await all.close();
  await waitUntil(() => scene.console.liveTails() === 0, "the closed tails to be released");
});

test("live tail: resuming from positions misses nothing; a burst is cut to the newest and counted", async (t) => {
  const scene = await consoleForTest(t);
  const url = await scene.gateway.listen();
  await scene.kafka.admin.createTopics([{ name: "events", partitions: 1 }]);
  await scene.kafka.produce({
    topic: "events",
    partition: 0,
    records: Array.from({ length: 10 }, (_, index) => ({ value: `paused-${index}` })),
  });

  // A page paused at offset 4 resumes there: the six messages from 4 on arrive, in order.
  const resumed = await openTail(url, "/topics/events/tail?positions=0:4");
  t.after(() => resumed.close());
  await resumed.waitFor(() => resumed.messages().length === 6, "the six messages after the pause");
  assert.deepEqual(
    resumed.messages().map((message) => message.offset),
    [4, 5, 6, 7, 8, 9],
  );
  await resumed.close();

  // A position before the log start or past the end is moved into the log.
  const clamped = await openTail(url, "/topics/events/tail?positions=0:999");
  t.after(() => clamped.close());
  await clamped.waitFor(() => clamped.events.some((event) => event.name === "start"), "its start");
  assert.deepEqual(clamped.events[0]!.data.positions, { "0": 10 });

  const burst = TAIL_EVENT_MESSAGES_MAX + 50;
  await scene.kafka.produce({
    topic: "events",
    partition: 0,
    records: Array.from({ length: burst }, (_, index) => ({ value: `burst-${index}` })),
  });
  await clamped.waitFor(
    () =>
      clamped.events
        .filter((event) => event.name === "messages")
        .reduce((sum, event) => sum + event.data.messages.length + event.data.skipped, 0) === burst,
    "the whole burst, sent or counted",
  );
  for (const event of clamped.events.filter((entry) => entry.name === "messages")) {
    assert.ok(event.data.messages.length <= TAIL_EVENT_MESSAGES_MAX);
  }
  assert.equal(clamped.messages().at(-1)!.value.text, `burst-${burst - 1}`);
});

test("live tail: bad requests are refused before the stream starts", async (t) => {
  const scene = await consoleForTest(t);
  const url = await scene.gateway.listen();
  await scene.kafka.admin.createTopics([{ name: "orders", partitions: 2 }]);
  const answer = async (path: string) => {
    const response = await fetch(`${url}/console/api${path}`);
    return { status: response.status, body: (await response.json()) as { error: string; field?: string } };
  };
  const unknown = await answer("/topics/nothing-here/tail");
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error, "SLUICE_NOT_FOUND");
  const partition = await answer("/topics/orders/tail?partition=7");
  assert.equal(partition.status, 404);
  const positions = await answer("/topics/orders/tail?positions=zero:1");
  assert.equal(positions.status, 400);
  assert.equal(positions.body.field, "positions");
  const name = await answer("/topics/bad%20name/tail");
  assert.equal(name.status, 400);
  assert.equal(scene.console.liveTails(), 0);
});

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
