// Transaction markers: the control batches that end a producer's transaction in a partition (what Kafka's
// WriteTxnMarkers writes). One record; its key is (version 0, type 0 = abort / 1 = commit) and its value
// (version 0, coordinator epoch), each field big-endian, as Kafka's EndTransactionMarker lays them out.

import { buildRecordBatch, readBatchHeader, type RecordBatchHeader } from "../../kafka/protocol/record-batch.js";

const MARKER_VERSION = 0;
const ABORT = 0;
const COMMIT = 1;
/** A single broker is its own transaction coordinator and never changes epoch. */
export const COORDINATOR_EPOCH = 0;

export function buildTxnMarker(
  producerId: number,
  producerEpoch: number,
  committed: boolean,
  timestampMs: number,
): { batch: Buffer; header: RecordBatchHeader } {
  const key = Buffer.alloc(4);
  key.writeInt16BE(MARKER_VERSION, 0);
  key.writeInt16BE(committed ? COMMIT : ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(MARKER_VERSION, 0);
  value.writeInt32BE(COORDINATOR_EPOCH, 2);
  const batch = buildRecordBatch({
    records: [{ key, value }],
    producerId,
    producerEpoch,
    transactional: true,
    control: true,
    timestamp: timestampMs,
  });
  return { batch, header: readBatchHeader(batch) };
}
