import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  CompressionCodec,
  CompressionError,
  UnsupportedCompressionError,
  compress,
  compressionAvailable,
  decompress,
} from "../../../../src/kafka/protocol/compression/index.js";
import { zstdAvailable } from "../../../../src/kafka/protocol/compression/zstd.js";

const FAST_CHECK_SEED = 99;

test("every available codec round-trips arbitrary bytes", () => {
  const codecs = Object.values(CompressionCodec).filter((codec) => compressionAvailable(codec));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (data) => {
      for (const codec of codecs) assert.deepEqual(decompress(codec, compress(codec, data)), Buffer.from(data));
    }),
    { seed: FAST_CHECK_SEED, numRuns: 100 },
  );
});

test("gzip is a standard gzip stream and enforces the output limit", () => {
  const data = Buffer.alloc(10_000, "g");
  const compressed = compress(CompressionCodec.Gzip, data);
  assert.deepEqual(compressed.subarray(0, 2), Buffer.from([0x1f, 0x8b]));
  assert.throws(() => decompress(CompressionCodec.Gzip, compressed, 1000), CompressionError);
  assert.throws(() => decompress(CompressionCodec.Gzip, Buffer.from("not gzip")), CompressionError);
});

test("zstd works when the runtime has it and is reported unsupported otherwise", () => {
  assert.equal(compressionAvailable(CompressionCodec.Zstd), zstdAvailable());
  if (zstdAvailable()) {
    const data = Buffer.from("zstd zstd zstd zstd");
    assert.deepEqual(decompress(CompressionCodec.Zstd, compress(CompressionCodec.Zstd, data)), data);
  } else {
    assert.throws(() => decompress(CompressionCodec.Zstd, Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), {
      name: "UnsupportedCompressionError",
      message: /Node 22\.15/,
    });
  }
});

test("unknown codecs are unsupported", () => {
  assert.equal(compressionAvailable(5), false);
  assert.throws(() => decompress(5, Buffer.alloc(1)), UnsupportedCompressionError);
  assert.throws(() => compress(7, Buffer.alloc(1)), UnsupportedCompressionError);
});
