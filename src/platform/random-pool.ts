// Random bytes for ids (event ids, trace and span ids), fetched from the system a block at a time: asking for 8 or 16
// bytes per event was a system call per event, a noticeable share of a busy producer's or consumer's time.

import { randomFillSync } from "node:crypto";

const RANDOM_POOL_BYTES = 4096;
const randomPool = Buffer.alloc(RANDOM_POOL_BYTES);
let randomPoolOffset = RANDOM_POOL_BYTES;

/**
 * Reserves `bytes` fresh random bytes (at most RANDOM_POOL_BYTES) and returns the pool and where they start; they stay
 * valid until the next call, which may refill the pool.
 */
export function takeRandomBytes(bytes: number): { pool: Buffer; offset: number } {
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > RANDOM_POOL_BYTES) {
    throw new RangeError(`random bytes are taken 1 to ${RANDOM_POOL_BYTES} at a time, not ${bytes}`);
  }
  if (randomPoolOffset + bytes > RANDOM_POOL_BYTES) {
    randomFillSync(randomPool);
    randomPoolOffset = 0;
  }
  const offset = randomPoolOffset;
  randomPoolOffset += bytes;
  return { pool: randomPool, offset };
}
