import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { crc32c } from "../../../src/kafka/protocol/crc32c.js";

const FAST_CHECK_SEED = 20240601;

/** The definition of CRC-32C, one bit at a time: slow and obviously right. */
function bitwiseCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

test("crc32c matches published check values", () => {
  assert.equal(crc32c(Buffer.from("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  // RFC 3720 (iSCSI) appendix B.4 vectors.
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test("crc32c agrees with the bitwise definition for any bytes, offsets and alignments", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
      const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
      assert.equal(crc32c(bytes, start, end), bitwiseCrc32c(bytes.subarray(start, end)));
      // A Buffer view at an odd offset into a larger allocation exercises the unaligned prefix path.
      const shifted = Buffer.alloc(bytes.length + 3);
      shifted.set(bytes, 3);
      assert.equal(crc32c(shifted.subarray(3)), bitwiseCrc32c(bytes));
    }),
    { seed: FAST_CHECK_SEED, numRuns: 300 },
  );
});

test("crc32c rejects a range outside the buffer", () => {
  const data = new Uint8Array(10);
  assert.throws(() => crc32c(data, 0, 11), RangeError);
  assert.throws(() => crc32c(data, -1, 5), RangeError);
  assert.throws(() => crc32c(data, 6, 5), RangeError);
});
