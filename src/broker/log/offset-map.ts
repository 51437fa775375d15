// The log cleaner's summary of the dirty part of a log: for each key, the offset of its latest record. Like Kafka's
// SkimpyOffsetMap it stores a 16-byte hash of the key and an 8-byte offset per slot (24 bytes), in a table of fixed
// size, so memory is bounded by the byte budget whatever the keys look like. A hash collision between two keys
// would make the older one's records look superseded; with 128 bits (four seeded xxHash32 lanes, several times
// faster than MD5 here, which matters at a million keys) that is not a practical concern.

import { xxhash32 } from "../../kafka/protocol/compression/xxhash32.js";

/** Bytes per slot: a 16-byte key hash and an 8-byte offset. */
export const OFFSET_MAP_SLOT_BYTES = 24;
/** The share of slots that may be filled before the map counts as full (Kafka's log.cleaner.io.buffer.load.factor). */
export const OFFSET_MAP_LOAD_FACTOR = 0.9;

const EMPTY = -1;
const SEEDS = [0, 0x9e3779b1, 0x85ebca77, 0xc2b2ae3d] as const;

export class OffsetMap {
  private readonly hashes: Int32Array;
  private readonly offsets: Float64Array;
  private readonly slots: number;
  private readonly digest = new Int32Array(4);
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

  /** The slot holding the key, or the empty slot where it would go; the key's hash is left in `digest`. */
  private slotOf(data: Uint8Array, start: number, end: number): number {
    const a = xxhash32(data, SEEDS[0], start, end) | 0;
    const b = xxhash32(data, SEEDS[1], start, end) | 0;
    const c = xxhash32(data, SEEDS[2], start, end) | 0;
    const d = xxhash32(data, SEEDS[3], start, end) | 0;
    this.digest[0] = a;
    this.digest[1] = b;
    this.digest[2] = c;
    this.digest[3] = d;
    let slot = (a >>> 0) % this.slots;
    while (true) {
      if (this.offsets[slot] === EMPTY) return slot;
      const at = slot * 4;
      const { hashes } = this;
      if (hashes[at] === a && hashes[at + 1] === b && hashes[at + 2] === c && hashes[at + 3] === d) return slot;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
  }

  /**
   * Records `offset` as the latest for the key in `data[start, end)`; false (and nothing stored) when the key is new
   * and the map is full.
   */
  put(data: Uint8Array, start: number, end: number, offset: number): boolean {
    const slot = this.slotOf(data, start, end);
    if (this.offsets[slot] === EMPTY) {
      if (this.full) return false;
      this.hashes.set(this.digest, slot * 4);
      this.size++;
    }
    this.offsets[slot] = offset;
    return true;
  }

  /** The latest offset recorded for the key in `data[start, end)`, or -1. */
  get(data: Uint8Array, start: number, end: number): number {
    return this.offsets[this.slotOf(data, start, end)]!;
  }
}
