// The record batch compression codecs (attribute bits 0-2) behind one compress/decompress pair.

import { CompressionError, UnsupportedCompressionError } from "./errors.js";
import { gzipCompress, gzipDecompress } from "./gzip.js";
import { lz4Compress, lz4Decompress } from "./lz4.js";
import { snappyCompress, snappyDecompress } from "./snappy.js";
import { zstdAvailable, zstdCompress, zstdDecompress } from "./zstd.js";

export { CompressionError, UnsupportedCompressionError } from "./errors.js";

export const CompressionCodec = {
  None: 0,
  Gzip: 1,
  Snappy: 2,
  Lz4: 3,
  Zstd: 4,
} as const;

export type CompressionCodec = (typeof CompressionCodec)[keyof typeof CompressionCodec];

/** The most bytes one decompression may produce, so a small hostile batch cannot exhaust memory. */
export const DECOMPRESSED_BYTES_MAX = 256 * 1024 * 1024;

const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

export function compressionCodecName(codec: number): string {
  return CODEC_NAMES[codec] ?? `unknown codec ${codec}`;
}

export function isCompressionCodec(value: number): value is CompressionCodec {
  return Number.isInteger(value) && value >= CompressionCodec.None && value <= CompressionCodec.Zstd;
}

/** Whether this runtime can compress and decompress `codec`. */
export function compressionAvailable(codec: number): boolean {
  if (!isCompressionCodec(codec)) return false;
  return codec !== CompressionCodec.Zstd || zstdAvailable();
}

export function compress(codec: number, data: Uint8Array): Buffer {
  switch (codec) {
    case CompressionCodec.None:
      return Buffer.from(data);
    case CompressionCodec.Gzip:
      return gzipCompress(data);
    case CompressionCodec.Snappy:
      return snappyCompress(data);
    case CompressionCodec.Lz4:
      return lz4Compress(data);
    case CompressionCodec.Zstd:
      return zstdCompress(data);
    default:
      throw new UnsupportedCompressionError(`unknown compression codec ${codec}`);
  }
}

/**
 * Decompresses `data`. Throws UnsupportedCompressionError for a codec this runtime lacks and CompressionError for
 * corrupt input or output over `outputBytesMax`.
 */
export function decompress(codec: number, data: Uint8Array, outputBytesMax = DECOMPRESSED_BYTES_MAX): Buffer {
  switch (codec) {
    case CompressionCodec.None:
      if (data.length > outputBytesMax) {
        throw new CompressionError(`decompressed data exceeds the limit of ${outputBytesMax} bytes`);
      }
      return Buffer.from(data.buffer, data.byteOffset, data.length);
    case CompressionCodec.Gzip:
      return gzipDecompress(data, outputBytesMax);
    case CompressionCodec.Snappy:
      return snappyDecompress(data, outputBytesMax);
    case CompressionCodec.Lz4:
      return lz4Decompress(data, outputBytesMax);
    case CompressionCodec.Zstd:
      return zstdDecompress(data, outputBytesMax);
    default:
      throw new UnsupportedCompressionError(`unknown compression codec ${codec}`);
  }
}
