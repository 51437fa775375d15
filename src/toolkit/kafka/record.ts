// A record as the toolkit's consumers and readers deliver it, whichever Kafka client library fetched it.

/** Headers per record the consumer reads; the rest are dropped (the producer side allows far fewer). */
export const RECORD_HEADERS_COUNT_MAX = 256;

/** One record as the consumer delivers it. */
export interface ConsumerRecord {
  topic: string;
  partition: number;
  /** A decimal string: offsets may exceed JavaScript's safe integers. */
  offset: string;
  /** Milliseconds since the epoch, as the producer (or broker) stamped it. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}
