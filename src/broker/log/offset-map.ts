// The log cleaner's summary of the dirty part of a log: for each key, the offset of its latest record. Like Kafka's
// SkimpyOffsetMap it stores a 16-byte MD5 of the key and an 8-byte offset per slot (24 bytes), in a table of fixed
// size, so memory is bounded by the byte budget whatever the keys look like. A hash collision between two keys
// would make the older one's records look superseded; at 128 bits that is not a practical concern.

import { hash } from "node:crypto";

/** Bytes per slot: a 16-byte key hash and an 8-byte offset. */
export const OFFSET_MAP_SLOT_BYTES = 24;
/** The share of slots that may be filled before the map counts as full (Kafka's log.cleaner.io.buffer.load.factor). */
export const OFFSET_MAP_LOAD_FACTOR = 0.9;

const EMPTY = -1;

export class OffsetMap {
  private readonly hashes: Int32Array;
  private readonly offsets: Float64Array;
  private readonly slots: number;
  /** Keys stored. */
  size = 0;
  /** The most keys the map takes. */
  readonly capacity: number;

  /** A map for up to `keysWanted` keys that uses at most `bytesMax` bytes. */
  constructor(keysWanted: number, bytesMax: number) {
    const slotsWanted = Math.ceil(Math.max(keysWanted, 1) / OFFSET_MAP_LOAD_FACTOR) + 1;
    this.slots = Math.max(2, Math.min(slotsWanted, Math.floor(bytesMax / OFFSET_MAP_SLOT_BYTES)));
    this.capacity = Math.max(1, Math.floor(this.slots * OFFSET_MAP_LOAD_FACTOR));
    this.hashes = new Int32Array(this.slots * 4);
    this.offsets = new Float64Array(this.slots).fill(EMPTY);
  }

  get full(): boolean {
    return this.size >= this.capacity;
  }

  /** The slot holding `digest`, or the empty slot where it would go. */
  private slotOf(digest: Buffer): number {
    const a = digest.readInt32LE(0);
    const b = digest.readInt32LE(4);
    const c = digest.readInt32LE(8);
    const d = digest.readInt32LE(12);
    let slot = (a >>> 0) % this.slots;
    while (true) {
      if (this.offsets[slot] === EMPTY) return slot;
      const at = slot * 4;
      const { hashes } = this;
      if (hashes[at] === a && hashes[at + 1] === b && hashes[at + 2] === c && hashes[at + 3] === d) return slot;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
  }

  /** Records `offset` as the latest for `key`; false (and nothing stored) when the key is new and the map is full. */
  put(key: Uint8Array, offset: number): boolean {
    const digest = hash("md5", key, "buffer");
    const slot = this.slotOf(digest);
    if (this.offsets[slot] === EMPTY) {
      if (this.full) return false;
      const at = slot * 4;
      this.hashes[at] = digest.readInt32LE(0);
      this.hashes[at + 1] = digest.readInt32LE(4);
      this.hashes[at + 2] = digest.readInt32LE(8);
      this.hashes[at + 3] = digest.readInt32LE(12);
      this.size++;
    }
    this.offsets[slot] = offset;
    return true;
  }

  /** The latest offset recorded for `key`, or -1. */
  get(key: Uint8Array): number {
    return this.offsets[this.slotOf(hash("md5", key, "buffer"))]!;
  }
}
