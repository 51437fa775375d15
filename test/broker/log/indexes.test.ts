import assert from "node:assert/strict";
import { test } from "node:test";
import { OffsetIndex } from "../../../src/broker/log/offset-index.js";
import { TimeIndex } from "../../../src/broker/log/time-index.js";

test("the offset index finds the last entry at or before an offset and survives a write and parse", () => {
  const index = new OffsetIndex(2);
  for (let i = 1; i <= 100; i++) index.add(i * 10, i * 4096);
  assert.equal(index.floorPosition(5), 0);
  assert.equal(index.floorPosition(10), 4096);
  assert.equal(index.floorPosition(19), 4096);
  assert.equal(index.floorPosition(5000), 100 * 4096);
  const parsed = OffsetIndex.parse(index.serialize(), 101 * 4096);
  assert.ok(parsed !== null);
  for (let offset = 0; offset < 1100; offset += 3)
    assert.equal(parsed.floorPosition(offset), index.floorPosition(offset));
});

test("the offset index refuses files that cannot be right", () => {
  const entry = (relativeOffset: number, position: number): Buffer => {
    const out = Buffer.alloc(8);
    out.writeInt32BE(relativeOffset, 0);
    out.writeInt32BE(position, 4);
    return out;
  };
  assert.equal(OffsetIndex.parse(Buffer.alloc(7), 1000), null, "partial entry");
  assert.equal(OffsetIndex.parse(entry(5, 2000), 1000), null, "position past the segment");
  assert.equal(OffsetIndex.parse(Buffer.concat([entry(5, 100), entry(5, 200)]), 1000), null, "offsets not rising");
  assert.equal(OffsetIndex.parse(Buffer.concat([entry(5, 100), entry(6, 50)]), 1000), null, "positions not rising");
  assert.equal(OffsetIndex.parse(Buffer.alloc(16), 1000), null, "zeroed entries");
  assert.equal(OffsetIndex.parse(Buffer.alloc(0), 1000)?.count, 0);
});

test("the time index only grows with the largest timestamp and points searches past older records", () => {
  const index = new TimeIndex(1);
  assert.equal(index.maybeAdd(100, 4), true);
  assert.equal(index.maybeAdd(100, 9), false);
  assert.equal(index.maybeAdd(90, 9), false);
  assert.equal(index.maybeAdd(250, 20), true);
  assert.equal(index.searchStart(50), 0);
  assert.equal(index.searchStart(100), 0);
  assert.equal(index.searchStart(101), 5);
  assert.equal(index.searchStart(251), 21);
  index.seal(250, 30);
  assert.equal(index.lastRelativeOffset, 30);
  const parsed = TimeIndex.parse(index.serialize(), 31);
  assert.ok(parsed !== null);
  assert.equal(parsed.lastTimestamp, 250);
  assert.equal(parsed.searchStart(101), 5);
  assert.equal(TimeIndex.parse(index.serialize(), 30), null, "offset beyond the segment");
  assert.equal(TimeIndex.parse(Buffer.alloc(13), 31), null, "partial entry");
});
