import assert from "node:assert/strict";
import { test } from "node:test";

import type { EventFrame } from "../../../src/gateway/websocket/event-frame.js";
import { RecentEvents } from "../../../src/gateway/websocket/recent-events.js";

function frame(partition: number, offset: number, bytes = 10, key: string | null = null): EventFrame {
  return { partition, offset, key, bytes: Buffer.alloc(bytes, 120) };
}

test("the recent events hold the newest events up to a count, and know which offsets they cover", () => {
  const recent = new RecentEvents({ eventsMax: 3, bytesMax: 1_000_000 });
  recent.startPartition(0, 5);
  recent.startPartition(1, 0);
  assert.deepEqual(recent.partitions(), [0, 1]);
  assert.equal(recent.coveredFrom(0), 5);
  assert.equal(recent.coveredTo(0), 5);
  assert.equal(recent.coveredTo(7), undefined);

  for (const offset of [5, 6, 7]) assert.ok(recent.append(frame(0, offset)));
  assert.ok(recent.append(frame(1, 0)));
  assert.equal(recent.size, 3);
  assert.equal(recent.coveredFrom(0), 6, "evicting offset 5 moves the start of what partition 0 covers");
  assert.equal(recent.coveredTo(0), 8);
  assert.deepEqual(
    recent.framesFrom(0, 0).map((held) => held.offset),
    [6, 7],
  );
  assert.deepEqual(
    recent.framesFrom(0, 7).map((held) => held.offset),
    [7],
  );
  assert.deepEqual(
    recent.framesFrom(1, 0).map((held) => held.offset),
    [0],
  );
  assert.equal(recent.append(frame(0, 7)), false, "an offset already added is refused");
  assert.equal(recent.append(frame(0, 3)), false);
  assert.equal(recent.size, 3);
});

test("the recent events are bounded in bytes too, and a gap in offsets is covered", () => {
  const recent = new RecentEvents({ eventsMax: 100, bytesMax: 250 });
  recent.startPartition(0, 0);
  for (let offset = 0; offset < 5; offset += 1) recent.append(frame(0, offset, 100));
  assert.equal(recent.size, 2);
  assert.equal(recent.byteCount, 200);
  assert.equal(recent.coveredFrom(0), 3);

  recent.append(frame(0, 9, 100));
  assert.equal(recent.coveredTo(0), 10, "offsets 5 to 8 held no events (control records) and count as covered");
  assert.deepEqual(
    recent.framesFrom(0, 4).map((held) => held.offset),
    [4, 9],
  );

  recent.append(frame(0, 10, 400));
  assert.equal(recent.size, 0, "an event larger than the byte limit is not kept");
  assert.equal(recent.byteCount, 0);
  assert.equal(recent.coveredFrom(0), 11);
  assert.equal(recent.coveredTo(0), 11);
});

test("a partition the reader starts on without startPartition begins at its first event", () => {
  const recent = new RecentEvents({ eventsMax: 10, bytesMax: 10_000 });
  recent.append(frame(3, 40));
  assert.equal(recent.coveredFrom(3), 40);
  assert.equal(recent.coveredTo(3), 41);
});
