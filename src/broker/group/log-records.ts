// The records of the group state file and their framing. Each record is framed as
//   payloadLength uint32 | crc32c(payload) uint32 | payload
// and each payload starts with a format version and a record kind. A frame whose length runs past the end of the
// file or whose checksum does not match marks a torn tail: everything from it on was never acknowledged.

import { crc32c } from "../../kafka/protocol/crc32c.js";
import { ProtocolDecodeError, Reader, Writer } from "../../kafka/protocol/primitives.js";
import { OFFSET_LOG_RECORD_BYTES_MAX } from "./limits.js";

export const RECORD_FRAME_HEADER_BYTES = 8;
const RECORD_FORMAT_VERSION = 0;

const KIND_GROUP = 1;
const KIND_GROUP_DELETED = 2;
const KIND_OFFSET = 3;
const KIND_OFFSET_DELETED = 4;

export type GroupLogRecord =
  | { kind: "group"; groupId: string; protocolType: string | null; generationId: number }
  | { kind: "group-deleted"; groupId: string }
  | {
      kind: "offset";
      groupId: string;
      topic: string;
      partition: number;
      offset: number;
      leaderEpoch: number;
      metadata: string | null;
      commitTimestampMs: number;
    }
  | { kind: "offset-deleted"; groupId: string; topic: string; partition: number };

/** A record whose checksum is good but whose content this version cannot read: refusing beats truncating it. */
export class GroupLogFormatError extends Error {
  override name = "GroupLogFormatError";
}

export function encodeGroupLogRecord(record: GroupLogRecord): Buffer {
  const writer = new Writer(64);
  const lengthAt = writer.reserveInt32();
  const crcAt = writer.reserveInt32();
  writer.int8(RECORD_FORMAT_VERSION);
  switch (record.kind) {
    case "group":
      writer.int8(KIND_GROUP).string(record.groupId, true).string(record.protocolType, true);
      writer.int32(record.generationId);
      break;
    case "group-deleted":
      writer.int8(KIND_GROUP_DELETED).string(record.groupId, true);
      break;
    case "offset":
      writer.int8(KIND_OFFSET).string(record.groupId, true).string(record.topic, true).int32(record.partition);
      writer.int64(record.offset).int32(record.leaderEpoch).string(record.metadata, true);
      writer.int64(record.commitTimestampMs);
      break;
    case "offset-deleted":
      writer.int8(KIND_OFFSET_DELETED).string(record.groupId, true).string(record.topic, true);
      writer.int32(record.partition);
      break;
  }
  const frame = Buffer.from(writer.finish());
  const payloadBytes = frame.length - RECORD_FRAME_HEADER_BYTES;
  if (payloadBytes > OFFSET_LOG_RECORD_BYTES_MAX) {
    throw new RangeError(`group log record of ${payloadBytes} bytes exceeds ${OFFSET_LOG_RECORD_BYTES_MAX}`);
  }
  frame.writeUInt32BE(payloadBytes, lengthAt);
  frame.writeUInt32BE(crc32c(frame, RECORD_FRAME_HEADER_BYTES), crcAt);
  return frame;
}

export interface DecodedGroupLog {
  records: GroupLogRecord[];
  /** Bytes of whole, intact records from the start; the rest of the buffer is a torn tail. */
  validBytes: number;
}

export function decodeGroupLog(data: Buffer): DecodedGroupLog {
  const records: GroupLogRecord[] = [];
  let at = 0;
  while (data.length - at >= RECORD_FRAME_HEADER_BYTES) {
    const payloadBytes = data.readUInt32BE(at);
    const expectedCrc = data.readUInt32BE(at + 4);
    const start = at + RECORD_FRAME_HEADER_BYTES;
    const end = start + payloadBytes;
    if (payloadBytes > OFFSET_LOG_RECORD_BYTES_MAX || end > data.length) break;
    if (crc32c(data, start, end) !== expectedCrc) break;
    records.push(decodePayload(data, start, end));
    at = end;
  }
  return { records, validBytes: at };
}

function decodePayload(data: Buffer, start: number, end: number): GroupLogRecord {
  const reader = new Reader(data, start, end);
  try {
    const version = reader.int8();
    if (version !== RECORD_FORMAT_VERSION) {
      throw new GroupLogFormatError(`group log record at byte ${start} has format version ${version}`);
    }
    const kind = reader.int8();
    switch (kind) {
      case KIND_GROUP:
        return {
          kind: "group",
          groupId: requiredString(reader),
          protocolType: reader.string(true),
          generationId: reader.int32(),
        };
      case KIND_GROUP_DELETED:
        return { kind: "group-deleted", groupId: requiredString(reader) };
      case KIND_OFFSET:
        return {
          kind: "offset",
          groupId: requiredString(reader),
          topic: requiredString(reader),
          partition: reader.int32(),
          offset: reader.int64(),
          leaderEpoch: reader.int32(),
          metadata: reader.string(true),
          commitTimestampMs: reader.int64(),
        };
      case KIND_OFFSET_DELETED:
        return {
          kind: "offset-deleted",
          groupId: requiredString(reader),
          topic: requiredString(reader),
          partition: reader.int32(),
        };
      default:
        throw new GroupLogFormatError(`group log record at byte ${start} has unknown kind ${kind}`);
    }
  } catch (error) {
    if (error instanceof ProtocolDecodeError) {
      throw new GroupLogFormatError(`group log record at byte ${start} is malformed: ${error.message}`);
    }
    throw error;
  }
}

function requiredString(reader: Reader): string {
  const value = reader.string(true);
  if (value === null) throw new ProtocolDecodeError("null where a string is required");
  return value;
}
