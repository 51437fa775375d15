// Reading records for the messages view: a range of one partition by manual assignment (no consumer group), in as
// few fetches as the byte limits allow, and each record turned into what the page shows. A fetch answers with whole
// batches, so a page at an offset inside a batch of many thousand records still receives all of them; the batches
// are walked as bytes (the filter's scanner, matching everything) and only the records of the page are decoded.

import type { FetchedRecord, SluiceKafkaClient } from "../kafka/client/index.js";
import { decodePayload, printableText, toHex, type DecodedPayload, type SchemaDecoder } from "./decode.js";
import { compileFilter, scanBatches } from "./scan.js";

const EVERY_RECORD = compileFilter({});

/** Bytes per partition in one fetch while browsing: a page is small, and a larger first batch still arrives whole. */
export const BROWSE_PARTITION_FETCH_BYTES = 64 * 1024;
/** Fetches made for one partition's range before giving up on reaching its end (gaps, compaction). */
export const RANGE_FETCHES_MAX = 1_000;

export interface MessageView {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: DecodedPayload;
  readonly value: DecodedPayload;
  readonly headers: ReadonlyArray<{ readonly key: string; readonly value: string | null; readonly hex: boolean }>;
}

export function toMessageView(record: FetchedRecord, schemaDecoder: SchemaDecoder | null): MessageView {
  return {
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: decodePayload(record.key, { schemaDecoder }),
    value: decodePayload(record.value, { schemaDecoder }),
    headers: record.headers.map((header) => {
      if (header.value === null) return { key: header.key, value: null, hex: false };
      const text = printableText(header.value);
      return text === null
        ? { key: header.key, value: toHex(header.value), hex: true }
        : { key: header.key, value: text, hex: false };
    }),
  };
}

/** The records of [from, end) of one partition, at most `max` of them, oldest first. */
export async function readRange(
  kafka: SluiceKafkaClient,
  topic: string,
  partition: number,
  from: number,
  end: number,
  max: number,
): Promise<FetchedRecord[]> {
  const records: FetchedRecord[] = [];
  let offset = from;
  for (let fetches = 0; offset < end && records.length < max && fetches < RANGE_FETCHES_MAX; fetches++) {
    const [fetched] = await kafka.fetchBytes([{ topic, partition, offset }], {
      maxWaitMs: 0,
      partitionMaxBytes: BROWSE_PARTITION_FETCH_BYTES,
    });
    if (fetched === undefined) break;
    const scan = scanBatches(
      topic,
      partition,
      fetched.bytes,
      { from: offset, end, budget: max - records.length },
      EVERY_RECORD,
      (record) => {
        records.push(record);
        return records.length < max;
      },
    );
    if (scan.next <= offset) break;
    offset = scan.next;
  }
  return records;
}
