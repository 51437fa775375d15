import assert from "node:assert/strict";
import { test } from "node:test";

import type { EventFrame } from "../../../src/gateway/websocket/event-frame.js";
import { WebSocketRequestError } from "../../../src/gateway/websocket/protocol.js";
import { RecentEvents } from "../../../src/gateway/websocket/recent-events.js";
import { Subscription, type EventSink } from "../../../src/gateway/websocket/subscription.js";

function frame(partition: number, offset: number, key: string | null = null): EventFrame {
  return { partition, offset, key, bytes: Buffer.from(JSON.stringify({ partition, offset, key })) };
}

/** Records what the subscription sends, as "partition:offset"; refuses everything once closed. */
class RecordingSink implements EventSink {
  readonly sent: string[] = [];
  open = true;
  send(data: Buffer | string): boolean {
    if (!this.open) return false;
    const { partition, offset } = JSON.parse(data.toString()) as { partition: number; offset: number };
    this.sent.push(`${partition}:${offset}`);
    return true;
  }
  inOneWrite(sendAll: () => void): void {
    sendAll();
  }
}

/** Recent events of a two-partition topic whose reader started at offset 10 and has read 10..14 of partition 0. */
function recentWithHistory(eventsMax = 100): RecentEvents {
  const recent = new RecentEvents({ eventsMax, bytesMax: 1_000_000 });
  recent.startPartition(0, 10);
  recent.startPartition(1, 3);
  for (let offset = 10; offset < 15; offset += 1) recent.append(frame(0, offset, offset % 2 === 0 ? "even" : "odd"));
  return recent;
}

test("a new subscription starts at the live end of every partition", () => {
  const recent = recentWithHistory();
  const sink = new RecordingSink();
  const subscription = new Subscription("t", null, sink, recent);
  assert.deepEqual(subscription.position(new Map()), []);
  assert.deepEqual(
    subscription.offsets(),
    new Map([
      [0, 15],
      [1, 3],
    ]),
  );
  subscription.sendRecent();
  assert.deepEqual(sink.sent, []);

  const next = frame(0, 15);
  recent.append(next);
  assert.equal(subscription.deliverLive([next]), 1);
  assert.equal(subscription.deliverLive([next]), 0, "an offset is sent once");
  assert.deepEqual(sink.sent, ["0:15"]);
});

test("a resume within the recent events sends what was missed, then follows live events", () => {
  const recent = recentWithHistory();
  const sink = new RecordingSink();
  const subscription = new Subscription("t", null, sink, recent);
  assert.deepEqual(subscription.position(new Map([[0, 12]])), []);
  assert.deepEqual(
    subscription.offsets(),
    new Map([
      [0, 12],
      [1, 3],
    ]),
  );
  subscription.sendRecent();
  assert.deepEqual(sink.sent, ["0:12", "0:13", "0:14"]);
  assert.equal(subscription.deliverLive([frame(0, 14)]), 0);
  const next = frame(0, 15);
  recent.append(next);
  subscription.deliverLive([next]);
  assert.deepEqual(sink.sent, ["0:12", "0:13", "0:14", "0:15"]);
});

test("a resume older than the recent events replays from the log and hands over to the live stream", () => {
  const recent = recentWithHistory(3);
  assert.equal(recent.coveredFrom(0), 12);
  const sink = new RecordingSink();
  const subscription = new Subscription("t", null, sink, recent);
  assert.deepEqual(
    subscription.position(
      new Map([
        [0, 8],
        [1, 3],
      ]),
    ),
    [0],
  );
  assert.ok(subscription.isReplaying(0));
  assert.equal(subscription.isReplaying(1), false);

  const live = frame(0, 15);
  recent.append(live);
  assert.equal(subscription.deliverLive([live]), 0, "live events wait while the partition replays");
  assert.equal(recent.coveredFrom(0), 13);

  assert.equal(subscription.deliverReplayed(frame(0, 8)), false);
  assert.equal(subscription.deliverReplayed(frame(0, 8)), false, "a replayed duplicate is not sent again");
  for (const offset of [9, 10, 11]) assert.equal(subscription.deliverReplayed(frame(0, offset)), false);
  assert.equal(subscription.deliverReplayed(frame(0, 12)), true, "offset 13 is held: the replay is done");
  assert.equal(subscription.isReplaying(0), false);
  assert.deepEqual(subscription.replayingPartitions(), []);
  assert.deepEqual(sink.sent, ["0:8", "0:9", "0:10", "0:11", "0:12", "0:13", "0:14", "0:15"]);
  assert.equal(subscription.nextOffset(0), 16);

  assert.equal(subscription.deliverReplayed(frame(0, 13)), true, "late replayed events are ignored");
  const next = frame(0, 16);
  recent.append(next);
  assert.equal(subscription.deliverLive([next]), 1);
  assert.deepEqual(sink.sent.slice(-1), ["0:16"]);
});

test("a key filter applies to live, recent and replayed events, and positions still advance", () => {
  const recent = recentWithHistory(3);
  const sink = new RecordingSink();
  const subscription = new Subscription("t", "even", sink, recent);
  subscription.position(new Map([[0, 9]]));
  for (const offset of [9, 10, 11, 12])
    subscription.deliverReplayed(frame(0, offset, offset % 2 === 0 ? "even" : "odd"));
  assert.deepEqual(sink.sent, ["0:10", "0:12", "0:14"]);
  assert.equal(subscription.nextOffset(0), 15);
  const odd = frame(0, 15, "odd");
  recent.append(odd);
  assert.equal(subscription.deliverLive([odd]), 0);
  assert.equal(subscription.nextOffset(0), 16);
});

test("resume offsets for a partition the topic does not have are refused", () => {
  const subscription = new Subscription("t", null, new RecordingSink(), recentWithHistory());
  assert.throws(
    () => subscription.position(new Map([[5, 0]])),
    (error: unknown) => error instanceof WebSocketRequestError && error.field === "resume.5",
  );
});

test("a partition added to the topic later is delivered from its first event", () => {
  const recent = recentWithHistory();
  const sink = new RecordingSink();
  const subscription = new Subscription("t", null, sink, recent);
  subscription.position(new Map());
  const added = frame(2, 0);
  recent.append(added);
  assert.equal(subscription.deliverLive([added]), 1);
  assert.deepEqual(sink.sent, ["2:0"]);
});

test("sending stops as soon as the connection is closed", () => {
  const recent = recentWithHistory();
  const sink = new RecordingSink();
  sink.open = false;
  const subscription = new Subscription("t", null, sink, recent);
  subscription.position(new Map([[0, 10]]));
  subscription.sendRecent();
  assert.deepEqual(sink.sent, []);
});
