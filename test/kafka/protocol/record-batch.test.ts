import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import fc from "fast-check";
import { CompressionCodec, compressionAvailable } from "../../../src/kafka/protocol/compression/index.js";
import { crc32c } from "../../../src/kafka/protocol/crc32c.js";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import { ProtocolDecodeError, Reader, Writer } from "../../../src/kafka/protocol/primitives.js";
import { signedVarBytes, writeSignedVar } from "../../../src/kafka/protocol/record-encoding.js";
import {
  BatchField,
  RECORD_BATCH_HEADER_BYTES,
  buildRecordBatch,
  decodeRecordBatch,
  hasLogAppendTime,
  iterateBatches,
  readBatchHeader,
  setBaseOffset,
  setLogAppendTime,
  validateProducedBatch,
  type RecordInput,
} from "../../../src/kafka/protocol/record-batch.js";

const FAST_CHECK_SEED = 1234;
const MESSAGE_BYTES_MAX = 1024 * 1024;
const require = createRequire(import.meta.url);

// kafkajs's own record batch encoder and decoder, used to prove our bytes are what a real client writes and reads.
interface KafkajsEncoder {
  buffer: Buffer;
}
interface KafkajsDecodedBatch {
  firstOffset: string;
  lastOffsetDelta: number;
  producerId: string;
  records: {
    offset: string;
    timestamp: string;
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, Buffer>;
  }[];
}
const { RecordBatch: KafkajsRecordBatch } = require("kafkajs/src/protocol/recordBatch/v0") as {
  RecordBatch: (options: object) => Promise<KafkajsEncoder>;
};
const KafkajsRecord = require("kafkajs/src/protocol/recordBatch/record/v0") as (options: object) => KafkajsEncoder;
const decodeKafkajsBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder") as (
  decoder: unknown,
) => Promise<KafkajsDecodedBatch>;
const KafkajsDecoder = require("kafkajs/src/protocol/decoder") as new (buffer: Buffer) => unknown;

const recordArbitrary: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.option(
    fc.uint8Array({ maxLength: 30 }).map((bytes) => Buffer.from(bytes)),
    { nil: null },
  ),
  value: fc.option(
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    { nil: null },
  ),
  headers: fc.array(
    fc.record({
      key: fc.string({ maxLength: 10 }),
      value: fc.option(
        fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes)),
        { nil: null },
      ),
    }),
    { maxLength: 3 },
  ),
  timestamp: fc.integer({ min: 0, max: 4_000_000_000_000 }),
});

const availableCodecs = Object.values(CompressionCodec).filter((codec) => compressionAvailable(codec));

test("a built batch has the documented header layout", () => {
  const batch = buildRecordBatch({
    records: [
      { key: "k1", value: "v1", timestamp: 1_700_000_000_000 },
      { key: null, value: "v2", timestamp: 1_700_000_000_500 },
      { value: null, timestamp: 1_699_999_999_000 },
    ],
    baseOffset: 42,
    producerId: 9_000_000_000,
    producerEpoch: 3,
    baseSequence: 17,
  });
  const header = readBatchHeader(batch);
  assert.equal(batch.readBigInt64BE(BatchField.baseOffset), 42n);
  assert.deepEqual(header, {
    baseOffset: 42,
    batchLength: batch.length - 12,
    partitionLeaderEpoch: -1,
    magic: 2,
    crc: crc32c(batch, 21),
    attributes: 0,
    lastOffsetDelta: 2,
    baseTimestamp: 1_700_000_000_000,
    maxTimestamp: 1_700_000_000_500,
    producerId: 9_000_000_000,
    producerEpoch: 3,
    baseSequence: 17,
    recordCount: 3,
  });
  assert.equal(batch.readBigInt64BE(BatchField.producerId), 9_000_000_000n);
});

test("one record encodes to the exact bytes of the format description", () => {
  const batch = buildRecordBatch({
    records: [{ key: "k", value: "vv", headers: [{ key: "h", value: null }] }],
    timestamp: 5,
  });
  const record = batch.subarray(RECORD_BATCH_HEADER_BYTES);
  // length 12 (zigzag 24), attributes 0, timestamp delta 0, offset delta 0, key len 1 "k", value len 2 "vv",
  // 1 header: key len 1 "h", value len -1 (zigzag 1).
  assert.deepEqual([...record], [24, 0, 0, 0, 2, 0x6b, 4, 0x76, 0x76, 2, 2, 0x68, 1]);
});

test("build and decode round-trip for every available codec", () => {
  fc.assert(
    fc.property(
      fc.array(recordArbitrary, { minLength: 1, maxLength: 20 }),
      fc.constantFrom(...availableCodecs),
      fc.nat({ max: 2 ** 40 }),
      (records, compression, baseOffset) => {
        const batch = buildRecordBatch({ records, compression, baseOffset });
        assert.ok("header" in validateProducedBatch(batch, MESSAGE_BYTES_MAX));
        const decoded = decodeRecordBatch(batch);
        assert.equal(decoded.header.attributes & 7, compression);
        assert.deepEqual(
          decoded.records,
          records.map((record, index) => ({
            offset: baseOffset + index,
            timestamp: record.timestamp,
            key: record.key,
            value: record.value,
            headers: record.headers!.map((h) => ({ key: h.key, value: h.value })),
          })),
        );
      },
    ),
    { seed: FAST_CHECK_SEED, numRuns: 150 },
  );
});

test("kafkajs decodes our batches and we decode kafkajs batches", async () => {
  for (const compression of [CompressionCodec.None, CompressionCodec.Gzip]) {
    const ours = buildRecordBatch({
      records: [
        { key: "a", value: "first", headers: [{ key: "trace", value: "t1" }], timestamp: 1000 },
        { key: null, value: "second", timestamp: 1003 },
      ],
      baseOffset: 100,
      compression,
    });
    const theirsView = await decodeKafkajsBatch(new KafkajsDecoder(ours));
    assert.equal(theirsView.firstOffset, "100");
    assert.deepEqual(
      theirsView.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString(), r.headers]),
      [
        ["100", "1000", "a", "first", { trace: Buffer.from("t1") }],
        ["101", "1003", null, "second", {}],
      ],
    );

    const kafkajsRecords = ["x", "y", "z"].map((value, offsetDelta) =>
      KafkajsRecord({
        offsetDelta,
        timestampDelta: offsetDelta * 10,
        key: Buffer.from(`k${value}`),
        value: Buffer.from(value),
      }),
    );
    const theirs = await KafkajsRecordBatch({
      compression,
      firstTimestamp: 5000,
      maxTimestamp: 5020,
      lastOffsetDelta: 2,
      records: kafkajsRecords,
    });
    const bytes = theirs.buffer;
    const validation = validateProducedBatch(bytes, MESSAGE_BYTES_MAX);
    assert.ok("header" in validation, JSON.stringify(validation));
    const decoded = decodeRecordBatch(bytes);
    assert.deepEqual(
      decoded.records.map((r) => [r.offset, r.timestamp, r.key?.toString(), r.value?.toString()]),
      [
        [0, 5000, "kx", "x"],
        [1, 5010, "ky", "y"],
        [2, 5020, "kz", "z"],
      ],
    );
  }
});

function validationError(records: Buffer | null, limit = MESSAGE_BYTES_MAX): number {
  const result = validateProducedBatch(records, limit);
  assert.ok("errorCode" in result, "expected the batch to be refused");
  assert.ok(result.message.length > 0);
  return result.errorCode;
}

function withCrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch, 21), BatchField.crc);
  return batch;
}

test("validateProducedBatch refuses each kind of bad batch with Kafka's error code", () => {
  const good = (): Buffer => buildRecordBatch({ records: [{ value: "a" }, { value: "b" }], timestamp: 1 });
  assert.equal(validationError(null), ErrorCode.INVALID_RECORD);
  assert.equal(validationError(Buffer.alloc(0)), ErrorCode.INVALID_RECORD);
  assert.equal(validationError(good().subarray(0, 10)), ErrorCode.CORRUPT_MESSAGE);
  assert.equal(validationError(good().subarray(0, 40)), ErrorCode.CORRUPT_MESSAGE);
  assert.equal(validationError(good().subarray(0, good().length - 1)), ErrorCode.CORRUPT_MESSAGE);
  assert.equal(validationError(Buffer.concat([good(), Buffer.from([1, 2, 3])])), ErrorCode.CORRUPT_MESSAGE);
  assert.equal(validationError(Buffer.concat([good(), good()])), ErrorCode.INVALID_RECORD);

  const oldMagic = good();
  oldMagic.writeInt8(1, BatchField.magic);
  assert.equal(validationError(oldMagic), ErrorCode.INVALID_RECORD);

  const flipped = good();
  flipped[flipped.length - 1]! ^= 1;
  assert.equal(validationError(flipped), ErrorCode.CORRUPT_MESSAGE);

  assert.equal(validationError(good(), good().length - 1), ErrorCode.MESSAGE_TOO_LARGE);
  assert.ok("header" in validateProducedBatch(good(), good().length));

  const control = good();
  control.writeInt16BE(0x20, BatchField.attributes);
  assert.equal(validationError(withCrc(control)), ErrorCode.INVALID_RECORD);

  const badCodec = good();
  badCodec.writeInt16BE(5, BatchField.attributes);
  assert.equal(validationError(withCrc(badCodec)), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);

  const badDelta = good();
  badDelta.writeInt32BE(5, BatchField.lastOffsetDelta);
  assert.equal(validationError(withCrc(badDelta)), ErrorCode.INVALID_RECORD);

  const noRecords = good();
  noRecords.writeInt32BE(0, BatchField.recordCount);
  noRecords.writeInt32BE(-1, BatchField.lastOffsetDelta);
  assert.equal(validationError(withCrc(noRecords)), ErrorCode.INVALID_RECORD);

  const shortLength = good();
  shortLength.writeInt32BE(10, BatchField.batchLength);
  assert.equal(validationError(shortLength), ErrorCode.CORRUPT_MESSAGE);

  const producerWithoutSequence = buildRecordBatch({ records: [{ value: "a" }], producerId: 5, producerEpoch: 0 });
  assert.equal(validationError(producerWithoutSequence), ErrorCode.INVALID_RECORD);
});

test("validateProducedBatch never throws on arbitrary bytes", () => {
  const prefix = buildRecordBatch({ records: [{ value: "seed" }], timestamp: 1 });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat({ max: 80 }), (bytes, keep) => {
      const input = Buffer.concat([prefix.subarray(0, keep), bytes]);
      const result = validateProducedBatch(input, MESSAGE_BYTES_MAX);
      assert.ok("header" in result || typeof result.errorCode === "number");
    }),
    { seed: FAST_CHECK_SEED, numRuns: 500 },
  );
});

test("setBaseOffset keeps the CRC valid and setLogAppendTime recomputes it", () => {
  const batch = buildRecordBatch({
    records: [
      { value: "a", timestamp: 10 },
      { value: "b", timestamp: 20 },
    ],
  });
  setBaseOffset(batch, 2 ** 40 + 3);
  assert.ok("header" in validateProducedBatch(batch, MESSAGE_BYTES_MAX));
  assert.equal(readBatchHeader(batch).baseOffset, 2 ** 40 + 3);

  setLogAppendTime(batch, 99_999);
  const header = readBatchHeader(batch);
  assert.ok(hasLogAppendTime(header));
  assert.equal(header.maxTimestamp, 99_999);
  assert.ok("header" in validateProducedBatch(batch, MESSAGE_BYTES_MAX));
  assert.deepEqual(
    decodeRecordBatch(batch).records.map((r) => [r.offset, r.timestamp]),
    [
      [2 ** 40 + 3, 99_999],
      [2 ** 40 + 4, 99_999],
    ],
  );
});

test("decodeRecordBatch rejects a bad CRC and malformed records", () => {
  const batch = buildRecordBatch({ records: [{ value: "abc" }] });
  batch[batch.length - 1]! ^= 0xff;
  assert.throws(() => decodeRecordBatch(batch), ProtocolDecodeError);
  const lying = buildRecordBatch({ records: [{ value: "abc" }] });
  lying.writeInt32BE(2, BatchField.recordCount);
  assert.throws(() => decodeRecordBatch(withCrc(lying)), ProtocolDecodeError);
});

test("iterateBatches walks concatenated batches and stops at a truncated last one", () => {
  const batches = [0, 3, 7].map((baseOffset, i) =>
    buildRecordBatch({ records: Array.from({ length: i + 1 }, () => ({ value: "v" })), baseOffset }),
  );
  const all = Buffer.concat(batches);
  assert.deepEqual(
    [...iterateBatches(all)].map((view) => view.header.baseOffset),
    [0, 3, 7],
  );
  const truncated = all.subarray(0, all.length - 5);
  const seen = [...iterateBatches(truncated)];
  assert.deepEqual(
    seen.map((view) => view.header.baseOffset),
    [0, 3],
  );
  assert.deepEqual(seen[1]!.bytes, batches[1]);
  assert.deepEqual([...iterateBatches(all.subarray(0, 30))], []);
});

test("records are written as the wire primitives write them: varlongs of any safe size, UTF-8 strings", () => {
  const edges = [0, 1, -1, 63, -64, 64, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 48, -(2 ** 48) - 1, 2 ** 53 - 1];
  for (const value of [...edges, -(2 ** 53) + 1]) {
    const expected = new Writer(16).varlong(value).finish();
    const written = Buffer.alloc(16);
    const end = writeSignedVar(written, 0, value);
    assert.deepEqual(written.subarray(0, end), expected, `varlong ${value}`);
    assert.equal(signedVarBytes(value), expected.length, `size of ${value}`);
    assert.equal(new Reader(expected).varlong(), value, `read back ${value}`);
  }
  const batch = buildRecordBatch({
    records: [
      { key: "ключ", value: "värde ✓", headers: [{ key: "ヘッダー", value: "ø" }], timestamp: 2 ** 50 },
      { key: null, value: null, timestamp: 0 },
    ],
  });
  const [first, second] = decodeRecordBatch(batch).records;
  assert.equal(first!.key!.toString(), "ключ");
  assert.equal(first!.value!.toString(), "värde ✓");
  assert.deepEqual(first!.headers, [{ key: "ヘッダー", value: Buffer.from("ø") }]);
  assert.equal(first!.timestamp, 2 ** 50);
  assert.deepEqual([second!.key, second!.value, second!.timestamp], [null, null, 0]);
});
