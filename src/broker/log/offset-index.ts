// The sparse offset index of one segment: (offset relative to the segment's base, byte position of the batch that
// starts there), one entry per indexIntervalBytes of batches. Held in typed arrays; written to `.index` as big-endian
// int32 pairs when the segment is sealed.

const ENTRY_BYTES = 8;
const INITIAL_ENTRIES = 64;

export class OffsetIndex {
  private relativeOffsets: Int32Array;
  private positions: Int32Array;
  count = 0;

  constructor(capacity = INITIAL_ENTRIES) {
    this.relativeOffsets = new Int32Array(capacity);
    this.positions = new Int32Array(capacity);
  }

  add(relativeOffset: number, position: number): void {
    if (this.count === this.relativeOffsets.length) {
      const relativeOffsets = new Int32Array(this.count * 2);
      const positions = new Int32Array(this.count * 2);
      relativeOffsets.set(this.relativeOffsets);
      positions.set(this.positions);
      this.relativeOffsets = relativeOffsets;
      this.positions = positions;
    }
    this.relativeOffsets[this.count] = relativeOffset;
    this.positions[this.count] = position;
    this.count++;
  }

  /** The position of the last entry at or before `relativeOffset`: where a forward walk for it should start. */
  floorPosition(relativeOffset: number): number {
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.relativeOffsets[middle]! <= relativeOffset) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found < 0 ? 0 : this.positions[found]!;
  }

  lastEntry(): { relativeOffset: number; position: number } | null {
    if (this.count === 0) return null;
    return { relativeOffset: this.relativeOffsets[this.count - 1]!, position: this.positions[this.count - 1]! };
  }

  serialize(): Buffer {
    const out = Buffer.allocUnsafe(this.count * ENTRY_BYTES);
    for (let i = 0; i < this.count; i++) {
      out.writeInt32BE(this.relativeOffsets[i]!, i * ENTRY_BYTES);
      out.writeInt32BE(this.positions[i]!, i * ENTRY_BYTES + 4);
    }
    return out;
  }

  /** Parses a `.index` file, or returns null if it is not a consistent index for a segment of `segmentBytes`. */
  static parse(data: Buffer, segmentBytes: number): OffsetIndex | null {
    if (data.length % ENTRY_BYTES !== 0) return null;
    const count = data.length / ENTRY_BYTES;
    const index = new OffsetIndex(Math.max(count, INITIAL_ENTRIES));
    for (let i = 0; i < count; i++) {
      const relativeOffset = data.readInt32BE(i * ENTRY_BYTES);
      const position = data.readInt32BE(i * ENTRY_BYTES + 4);
      const previous = index.lastEntry();
      const ordered = previous === null || (relativeOffset > previous.relativeOffset && position > previous.position);
      if (!ordered || relativeOffset < 0 || position <= 0 || position >= segmentBytes) return null;
      index.add(relativeOffset, position);
    }
    return index;
  }
}
