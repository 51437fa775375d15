import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FrameReader, FrameSizeError } from "../../../../src/kafka/client/network/frames.js";
import { frame } from "../support.js";

function drain(reader: FrameReader): Buffer[] {
  const frames: Buffer[] = [];
  for (let next = reader.next(); next !== null; next = reader.next()) frames.push(Buffer.from(next));
  return frames;
}

test("frames split across chunks at any byte come out whole and in order (property, seeded)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 4, maxLength: 300 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
      (payloads, cuts) => {
        const stream = Buffer.concat(payloads.map((payload) => frame(Buffer.from(payload))));
        const reader = new FrameReader(1024);
        const frames: Buffer[] = [];
        let at = 0;
        for (let index = 0; at < stream.length; index++) {
          const size = cuts[index % cuts.length]!;
          reader.push(stream.subarray(at, at + size));
          at += size;
          frames.push(...drain(reader));
        }
        assert.deepEqual(
          frames,
          payloads.map((payload) => Buffer.from(payload)),
        );
        assert.equal(reader.buffered, 0);
      },
    ),
    { seed: 16, numRuns: 300 },
  );
});

test("a size below a response header or above the limit is refused before the body is buffered", () => {
  const tooSmall = new FrameReader(100);
  tooSmall.push(Buffer.from([0, 0, 0, 3]));
  assert.throws(
    () => tooSmall.next(),
    (error: unknown) => error instanceof FrameSizeError && error.size === 3,
  );

  const tooLarge = new FrameReader(100);
  tooLarge.push(Buffer.from([0, 0, 0, 101, 1]));
  assert.throws(() => tooLarge.next(), /larger than the 100 bytes allowed/);

  const negative = new FrameReader(100);
  negative.push(Buffer.from([0xff]));
  assert.equal(negative.next(), null, "three bytes of a size are not yet a size");
  negative.push(Buffer.from([0xff, 0xff, 0xff]));
  assert.throws(() => negative.next(), FrameSizeError);
});
