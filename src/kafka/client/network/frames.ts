// Splitting a broker's byte stream into size-prefixed frames. Chunks are kept as they arrive and joined only when a
// whole frame is present, so a large Fetch response arriving in many chunks is copied once, not once per chunk. A
// size outside [RESPONSE_FRAME_BYTES_MIN, frameBytesMax] can only come from a peer that is not speaking Kafka (or
// from a response bigger than we allow); the reader refuses it before buffering any of its body.

/** A response holds at least its correlation id. */
export const RESPONSE_FRAME_BYTES_MIN = 4;

export class FrameSizeError extends Error {
  override name = "FrameSizeError";

  constructor(
    readonly size: number,
    readonly sizeMax: number,
  ) {
    super(
      size < RESPONSE_FRAME_BYTES_MIN
        ? `a frame of ${size} bytes is smaller than a response header`
        : `a frame of ${size} bytes is larger than the ${sizeMax} bytes allowed (responseBytesMax)`,
    );
  }
}

export class FrameReader {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(private readonly frameBytesMax: number) {}

  get buffered(): number {
    return this.bufferedBytes;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  /** The next whole frame's payload (without its size), or null until one has arrived. Throws FrameSizeError. */
  next(): Buffer | null {
    if (this.bufferedBytes < 4) return null;
    const size = this.peekSize();
    if (size < RESPONSE_FRAME_BYTES_MIN || size > this.frameBytesMax)
      throw new FrameSizeError(size, this.frameBytesMax);
    if (this.bufferedBytes < size + 4) return null;
    this.take(4);
    return this.take(size);
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    // The size itself straddles chunks: join just enough of them to read it.
    this.chunks = [Buffer.concat(this.chunks, this.bufferedBytes)];
    return this.chunks[0]!.readInt32BE(0);
  }

  /** Removes the next `bytes` bytes; a view into one chunk when they lie in one, else one copy. */
  private take(bytes: number): Buffer {
    this.bufferedBytes -= bytes;
    const first = this.chunks[0]!;
    if (first.length >= bytes) {
      if (first.length === bytes) this.chunks.shift();
      else this.chunks[0] = first.subarray(bytes);
      return first.subarray(0, bytes);
    }
    const joined = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.chunks[0]!;
      const wanted = bytes - filled;
      if (chunk.length <= wanted) {
        chunk.copy(joined, filled);
        filled += chunk.length;
        this.chunks.shift();
      } else {
        chunk.copy(joined, filled, 0, wanted);
        this.chunks[0] = chunk.subarray(wanted);
        filled = bytes;
      }
    }
    return joined;
  }
}
