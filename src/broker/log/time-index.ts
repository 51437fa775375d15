// The time index of one segment. An entry (T, o) says every record up to relative offset o has a timestamp of at
// most T; entries are added only when the segment's largest timestamp has grown, so T strictly increases. A search
// for the first record at or after a time can therefore skip everything up to the last entry below that time.
// Written to `.timeindex` as big-endian (int64 timestamp, int32 relative offset) when the segment is sealed.

const ENTRY_BYTES = 12;
const INITIAL_ENTRIES = 16;

export class TimeIndex {
  private timestamps: Float64Array;
  private relativeOffsets: Int32Array;
  count = 0;

  constructor(capacity = INITIAL_ENTRIES) {
    this.timestamps = new Float64Array(capacity);
    this.relativeOffsets = new Int32Array(capacity);
  }

  get lastTimestamp(): number {
    return this.count === 0 ? -1 : this.timestamps[this.count - 1]!;
  }

  /** Adds an entry if `timestamp` is larger than the last one; returns whether it did. */
  maybeAdd(timestamp: number, relativeOffset: number): boolean {
    if (timestamp <= this.lastTimestamp) return false;
    if (this.count === this.timestamps.length) {
      const timestamps = new Float64Array(this.count * 2);
      const relativeOffsets = new Int32Array(this.count * 2);
      timestamps.set(this.timestamps);
      relativeOffsets.set(this.relativeOffsets);
      this.timestamps = timestamps;
      this.relativeOffsets = relativeOffsets;
    }
    this.timestamps[this.count] = timestamp;
    this.relativeOffsets[this.count] = relativeOffset;
    this.count++;
    return true;
  }

  get lastRelativeOffset(): number {
    return this.count === 0 ? -1 : this.relativeOffsets[this.count - 1]!;
  }

  /**
   * Ends the index with an entry for the segment's largest timestamp at its last offset, so that a loaded index
   * shows both where the segment's offsets end and its newest time. Moving an entry to a later offset with the same
   * timestamp keeps it true.
   */
  seal(maxTimestamp: number, lastRelativeOffset: number): void {
    if (maxTimestamp < 0 || lastRelativeOffset < 0) return;
    if (this.count > 0 && this.timestamps[this.count - 1] === maxTimestamp) {
      this.relativeOffsets[this.count - 1] = Math.max(this.relativeOffsets[this.count - 1]!, lastRelativeOffset);
    } else {
      this.maybeAdd(maxTimestamp, lastRelativeOffset);
    }
  }

  /** The first relative offset that may hold a record with a timestamp at or after `timestamp`. */
  searchStart(timestamp: number): number {
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.timestamps[middle]! < timestamp) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found < 0 ? 0 : this.relativeOffsets[found]! + 1;
  }

  serialize(): Buffer {
    const out = Buffer.allocUnsafe(this.count * ENTRY_BYTES);
    for (let i = 0; i < this.count; i++) {
      const timestamp = this.timestamps[i]!;
      const high = Math.floor(timestamp / 0x100000000);
      out.writeInt32BE(high, i * ENTRY_BYTES);
      out.writeUInt32BE(timestamp - high * 0x100000000, i * ENTRY_BYTES + 4);
      out.writeInt32BE(this.relativeOffsets[i]!, i * ENTRY_BYTES + 8);
    }
    return out;
  }

  /** Parses a `.timeindex` file, or returns null if it is not consistent for a segment of `recordCount` offsets. */
  static parse(data: Buffer, offsetCount: number): TimeIndex | null {
    if (data.length % ENTRY_BYTES !== 0) return null;
    const count = data.length / ENTRY_BYTES;
    const index = new TimeIndex(Math.max(count, INITIAL_ENTRIES));
    let previousOffset = -1;
    for (let i = 0; i < count; i++) {
      const timestamp = data.readInt32BE(i * ENTRY_BYTES) * 0x100000000 + data.readUInt32BE(i * ENTRY_BYTES + 4);
      const relativeOffset = data.readInt32BE(i * ENTRY_BYTES + 8);
      if (relativeOffset < previousOffset || relativeOffset >= offsetCount || timestamp < 0) return null;
      if (!index.maybeAdd(timestamp, relativeOffset)) return null;
      previousOffset = relativeOffset;
    }
    return index;
  }
}
