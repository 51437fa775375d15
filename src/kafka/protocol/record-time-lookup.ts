// Finding the first record at or after a time inside one stored batch, for ListOffsets by timestamp and the time
// index: each record's length, timestamp and offset are read and the rest stepped over.

import { CompressionError, DECOMPRESSED_BYTES_MAX, compressionCodecName, decompress } from "./compression/index.js";
import { ProtocolDecodeError, Reader } from "./primitives.js";
import {
  RECORD_BATCH_HEADER_BYTES,
  batchBytesOf,
  compressionOf,
  hasLogAppendTime,
  readBatchHeader,
} from "./record-batch.js";

/**
 * The first record of a batch at or after `fromOffset` whose timestamp is at or after `timestampMs`, found by
 * reading each record's length, timestamp and offset only (keys, values and headers are stepped over, nothing is
 * made per record), so a time lookup in a batch of many thousand records stays cheap. Null when none is.
 */
export function findRecordAtTime(
  buf: Uint8Array,
  fromOffset: number,
  timestampMs: number,
): { offset: number; timestamp: number } | null {
  const header = readBatchHeader(buf);
  const batchBytes = batchBytesOf(header);
  if (batchBytes > buf.length) throw new ProtocolDecodeError(`batch of ${batchBytes} bytes given ${buf.length}`);
  const codec = compressionOf(header);
  let body: Buffer;
  try {
    body = decompress(
      codec,
      (Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length)).subarray(
        RECORD_BATCH_HEADER_BYTES,
        batchBytes,
      ),
      DECOMPRESSED_BYTES_MAX,
    );
  } catch (error) {
    if (error instanceof CompressionError) {
      throw new ProtocolDecodeError(`${compressionCodecName(codec)} records: ${error.message}`);
    }
    throw error;
  }
  const logAppendTime = hasLogAppendTime(header);
  const reader = new Reader(body);
  for (let index = 0; index < header.recordCount; index++) {
    const length = reader.varint();
    if (length < 0 || length > reader.remaining) {
      throw new ProtocolDecodeError(`record ${index} claims ${length} bytes; ${reader.remaining} remain`);
    }
    const end = reader.offset + length;
    reader.int8();
    const timestampDelta = reader.varlong();
    const offset = header.baseOffset + reader.varint();
    const timestamp = logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta;
    if (offset >= fromOffset && timestamp >= timestampMs) return { offset, timestamp };
    reader.skip(end - reader.offset);
  }
  return null;
}
