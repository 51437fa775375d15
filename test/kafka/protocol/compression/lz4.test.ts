import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import fc from "fast-check";
import { lz4Compress, lz4Decompress } from "../../../../src/kafka/protocol/compression/lz4.js";
import { CompressionError } from "../../../../src/kafka/protocol/compression/errors.js";
import { xxhash32 } from "../../../../src/kafka/protocol/compression/xxhash32.js";

const FAST_CHECK_SEED = 4242;
const LIMIT_BYTES = 8 * 1024 * 1024;
const lz4Cli = spawnSync("lz4", ["--version"]).status === 0;

const compressible = fc
  .array(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(Buffer.from("abcabcabc"), Buffer.alloc(300, 7))), {
    maxLength: 60,
  })
  .map((parts) => Buffer.concat(parts));

function frameHeader(flags: number, blockDescriptor: number): Buffer {
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, flags, blockDescriptor, 0]);
  header[6] = (xxhash32(header, 0, 4, 6) >>> 8) & 0xff;
  return header;
}

function uint32LE(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0, 0);
  return out;
}

test("lz4 decodes the empty frame with a content checksum", () => {
  const frame = Buffer.from("04224d186440a70000000005 5dcc02".replace(/ /g, ""), "hex");
  assert.equal(lz4Decompress(frame, LIMIT_BYTES).length, 0);
});

test("lz4 decodes a frame built by hand: a compressed block with an overlapping match, and a stored block", () => {
  // Sequence 1: 3 literals "abc", match offset 3 length 9 → "abcabcabcabc". Sequence 2: 5 literals "tail!".
  const block = Buffer.from([0x35, ...Buffer.from("abc"), 0x03, 0x00, 0x50, ...Buffer.from("tail!")]);
  const stored = Buffer.from("plain");
  const frame = Buffer.concat([
    frameHeader(0x60, 0x40),
    uint32LE(block.length),
    block,
    uint32LE(0x80000000 | stored.length),
    stored,
    uint32LE(0),
  ]);
  assert.equal(lz4Decompress(frame, LIMIT_BYTES).toString(), "abcabcabcabctail!plain");
});

test("lz4 checks block checksums, content checksums and content size", () => {
  const stored = Buffer.from("checked");
  const withChecksums = (blockChecksum: number, contentChecksum: number): Buffer =>
    Buffer.concat([
      frameHeader(0x74, 0x40),
      uint32LE(0x80000000 | stored.length),
      stored,
      uint32LE(blockChecksum),
      uint32LE(0),
      uint32LE(contentChecksum),
    ]);
  const good = withChecksums(xxhash32(stored), xxhash32(stored));
  assert.equal(lz4Decompress(good, LIMIT_BYTES).toString(), "checked");
  assert.throws(() => lz4Decompress(withChecksums(1, xxhash32(stored)), LIMIT_BYTES), /block checksum/);
  assert.throws(() => lz4Decompress(withChecksums(xxhash32(stored), 1), LIMIT_BYTES), /content checksum/);

  const size = Buffer.alloc(8);
  size.writeUInt32LE(stored.length + 1, 0);
  const header = Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x68, 0x40]), size, Buffer.alloc(1)]);
  header[14] = (xxhash32(header, 0, 4, 14) >>> 8) & 0xff;
  const wrongSize = Buffer.concat([header, uint32LE(0x80000000 | stored.length), stored, uint32LE(0)]);
  assert.throws(() => lz4Decompress(wrongSize, LIMIT_BYTES), /declared 8 bytes but held 7/);
});

test("lz4 skips skippable frames and joins concatenated frames", () => {
  const skippable = Buffer.concat([uint32LE(0x184d2a53), uint32LE(3), Buffer.from("zzz")]);
  const joined = Buffer.concat([lz4Compress(Buffer.from("one ")), skippable, lz4Compress(Buffer.from("two"))]);
  assert.equal(lz4Decompress(joined, LIMIT_BYTES).toString(), "one two");
});

test("lz4 compression round-trips", () => {
  fc.assert(
    fc.property(compressible, (data) => {
      assert.deepEqual(lz4Decompress(lz4Compress(data), LIMIT_BYTES), data);
    }),
    { seed: FAST_CHECK_SEED, numRuns: 200 },
  );
  const large = Buffer.alloc(300_000);
  for (let i = 0; i < large.length; i++) large[i] = (i * 7) % 251 < 50 ? 1 : (i >> 4) & 0xff;
  const compressed = lz4Compress(large);
  assert.ok(compressed.length < large.length, `compressed to ${compressed.length}`);
  assert.deepEqual(lz4Decompress(compressed, LIMIT_BYTES), large);
});

test("lz4 rejects corrupt input with CompressionError and respects the output limit", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (bytes, at) => {
      const frame = lz4Compress(Buffer.concat([Buffer.from("repeat repeat repeat repeat "), bytes]));
      frame[7 + (at % (frame.length - 7))] ^= 0x5a;
      for (const input of [bytes, frame]) {
        try {
          lz4Decompress(input, LIMIT_BYTES);
        } catch (error) {
          assert.ok(error instanceof CompressionError, String(error));
        }
      }
    }),
    { seed: FAST_CHECK_SEED, numRuns: 500 },
  );
  assert.throws(() => lz4Decompress(lz4Compress(Buffer.alloc(10_000)), 5000), /exceeds the limit/);
});

test("lz4 interoperates with the lz4 command-line tool", { skip: lz4Cli ? false : "lz4 CLI not installed" }, () => {
  const data = Buffer.concat(Array.from({ length: 3000 }, (_, i) => Buffer.from(`record-${i % 97}-${i};`)));
  const ours = spawnSync("lz4", ["-d", "-c"], { input: lz4Compress(data) });
  assert.equal(ours.status, 0, ours.stderr.toString());
  assert.deepEqual(ours.stdout, data);
  // Dependent 64 KiB blocks with block checksums exercise matches that reach into the previous block.
  for (const flags of [[], ["-BD", "-B4", "-BX"], ["--content-size"]]) {
    const theirs = spawnSync("lz4", ["-c", ...flags], { input: data });
    assert.equal(theirs.status, 0, theirs.stderr.toString());
    assert.deepEqual(lz4Decompress(theirs.stdout, LIMIT_BYTES), data);
  }
});
