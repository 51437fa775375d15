import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  snappyCompress,
  snappyCompressRaw,
  snappyDecompress,
} from "../../../../src/kafka/protocol/compression/snappy.js";
import { CompressionError } from "../../../../src/kafka/protocol/compression/errors.js";

const FAST_CHECK_SEED = 7331;
const LIMIT_BYTES = 1024 * 1024;

/** Inputs with plenty of repetition, so the compressor emits copies as well as literals. */
const compressible = fc
  .array(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(Buffer.from("abcabcabc"), Buffer.alloc(100, 7))), {
    maxLength: 60,
  })
  .map((parts) => Buffer.concat(parts));

test("snappy decodes a raw stream built by hand from the format description", () => {
  const stream = Buffer.from([
    0x15, // preamble: 21 bytes of output
    0x0c, // literal of 4 bytes
    ...Buffer.from("abcd"),
    0x11, // copy, 1-byte offset form: length 8, offset 4
    0x04,
    0x0a, // copy, 2-byte offset form: length 3, offset 12
    0x0c,
    0x00,
    0x0f, // copy, 4-byte offset form: length 4, offset 1
    0x01,
    0x00,
    0x00,
    0x00,
    0x04, // literal of 2 bytes
    ...Buffer.from("!?"),
  ]);
  assert.equal(snappyDecompress(stream, LIMIT_BYTES).toString(), "abcdabcdabcdabccccc!?");
});

test("snappy decodes a long literal with a one-byte extra length", () => {
  const text = Buffer.alloc(100, "x");
  const stream = Buffer.concat([Buffer.from([100, 60 << 2, 99]), text]);
  assert.deepEqual(snappyDecompress(stream, LIMIT_BYTES), text);
});

test("snappy decodes xerial framing with several blocks", () => {
  const first = Buffer.from([0x03, 0x08, ...Buffer.from("foo")]);
  const second = Buffer.from([0x03, 0x08, ...Buffer.from("bar")]);
  const framed = Buffer.alloc(16 + 4 + first.length + 4 + second.length);
  Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]).copy(framed, 0);
  framed.writeInt32BE(1, 8);
  framed.writeInt32BE(1, 12);
  framed.writeInt32BE(first.length, 16);
  first.copy(framed, 20);
  framed.writeInt32BE(second.length, 20 + first.length);
  second.copy(framed, 24 + first.length);
  assert.equal(snappyDecompress(framed, LIMIT_BYTES).toString(), "foobar");
});

test("snappy compression round-trips through both framings", () => {
  fc.assert(
    fc.property(compressible, (data) => {
      assert.deepEqual(snappyDecompress(snappyCompress(data), LIMIT_BYTES), data);
      assert.deepEqual(snappyDecompress(snappyCompressRaw(data), LIMIT_BYTES), data);
    }),
    { seed: FAST_CHECK_SEED, numRuns: 200 },
  );
});

test("snappy compression shrinks repetitive data and spans several xerial blocks", () => {
  const data = Buffer.alloc(200_000);
  for (let i = 0; i < data.length; i++) data[i] = "hello snappy "[i % 13]!.charCodeAt(0);
  const compressed = snappyCompress(data);
  assert.ok(compressed.length < data.length / 10, `compressed to ${compressed.length}`);
  assert.deepEqual(snappyDecompress(compressed, LIMIT_BYTES), data);
});

test("snappy rejects corrupt input with CompressionError and never anything else", () => {
  assert.throws(() => snappyDecompress(Buffer.from([0x05, 0x0c, 0x61]), LIMIT_BYTES), CompressionError);
  assert.throws(() => snappyDecompress(Buffer.from([0x08, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x01, 0x09]), LIMIT_BYTES), {
    message: /before the block/,
  });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        snappyDecompress(bytes, LIMIT_BYTES);
      } catch (error) {
        assert.ok(error instanceof CompressionError, String(error));
      }
    }),
    { seed: FAST_CHECK_SEED, numRuns: 500 },
  );
});

test("snappy refuses output beyond the limit before allocating it", () => {
  // The preamble claims 2^31 bytes of output.
  assert.throws(() => snappyDecompress(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08, 0x00]), LIMIT_BYTES), {
    message: /exceeds the limit/,
  });
  const big = snappyCompress(Buffer.alloc(5000));
  assert.throws(() => snappyDecompress(big, 4096), CompressionError);
});
