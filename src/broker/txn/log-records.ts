// The records of the transaction log, Sluice's __transaction_state: each transactional id's current metadata (its
// producer id and epoch, state, partitions, groups and pending offsets), its removal when it expires, and each
// aborted transaction a partition holds (Kafka's .txnindex) and its removal when the cleaner removes its marker. Framed as the group log is (length, CRC-32C, payload),
// with a JSON payload: these records are few and small, one per transaction step, not per produced record.

import { crc32c } from "../../kafka/protocol/crc32c.js";

const FRAME_HEADER_BYTES = 8;
const RECORD_FORMAT_VERSION = 1;
/** A transaction log record larger than this is refused when written and taken for corruption when read. */
export const TXN_LOG_RECORD_BYTES_MAX = 4 * 1024 * 1024;

export type TxnState = "Empty" | "Ongoing" | "PrepareCommit" | "PrepareAbort" | "CompleteCommit" | "CompleteAbort";

export interface TxnPartitionRecord {
  topic: string;
  partition: number;
  /**
   * The partition's log end offset when it joined the transaction: no batch of this transaction lies below it, so
   * after a restart it stands in for the transaction's first offset there.
   */
  firstOffsetBound: number;
}

export interface PendingOffsetRecord {
  groupId: string;
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string;
}

export interface TxnMetadataRecord {
  kind: "txn";
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  partitions: TxnPartitionRecord[];
  groups: string[];
  pendingOffsets: PendingOffsetRecord[];
  startTimeMs: number;
  updateTimeMs: number;
}

export interface AbortedTxnRecord {
  kind: "aborted";
  /** The topic id (hex), so that a topic deleted and created again under its name does not inherit the entry. */
  topicId: string;
  partition: number;
  producerId: number;
  firstOffset: number;
  /** The offset of the abort marker. */
  lastOffset: number;
}

/** An aborted transaction whose abort marker the log cleaner removed: the partition no longer names it. */
export interface AbortedForgottenRecord {
  kind: "aborted-forgotten";
  topicId: string;
  partition: number;
  producerId: number;
  /** The offset the abort marker had. */
  lastOffset: number;
}

export type TxnLogRecord =
  TxnMetadataRecord | { kind: "txn-deleted"; transactionalId: string } | AbortedTxnRecord | AbortedForgottenRecord;

export function encodeTxnLogRecord(record: TxnLogRecord): Buffer {
  const payload = Buffer.from(JSON.stringify({ v: RECORD_FORMAT_VERSION, ...record }), "utf8");
  if (payload.length > TXN_LOG_RECORD_BYTES_MAX) {
    throw new RangeError(`transaction log record of ${payload.length} bytes exceeds ${TXN_LOG_RECORD_BYTES_MAX}`);
  }
  const frame = Buffer.alloc(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(crc32c(payload), 4);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** A record whose checksum is good but whose content this version cannot read: refusing beats truncating it. */
export class TxnLogFormatError extends Error {
  override name = "TxnLogFormatError";
}

export function decodeTxnLog(data: Buffer): { records: TxnLogRecord[]; validBytes: number } {
  const records: TxnLogRecord[] = [];
  let at = 0;
  while (data.length - at >= FRAME_HEADER_BYTES) {
    const payloadBytes = data.readUInt32BE(at);
    const start = at + FRAME_HEADER_BYTES;
    const end = start + payloadBytes;
    if (payloadBytes > TXN_LOG_RECORD_BYTES_MAX || end > data.length) break;
    if (crc32c(data, start, end) !== data.readUInt32BE(at + 4)) break;
    const parsed = JSON.parse(data.toString("utf8", start, end)) as { v?: unknown } & TxnLogRecord;
    if (parsed.v !== RECORD_FORMAT_VERSION) {
      throw new TxnLogFormatError(`transaction log record at byte ${at} has format version ${String(parsed.v)}`);
    }
    delete parsed.v;
    records.push(parsed);
    at = end;
  }
  return { records, validBytes: at };
}
