// gzip through node:zlib. Kafka's gzip codec is a plain gzip stream (possibly several concatenated members).

import { gunzipSync, gzipSync } from "node:zlib";
import { CompressionError } from "./errors.js";

export function gzipCompress(data: Uint8Array): Buffer {
  return gzipSync(data);
}

export function gzipDecompress(data: Uint8Array, outputBytesMax: number): Buffer {
  try {
    return gunzipSync(data, { maxOutputLength: outputBytesMax });
  } catch (error) {
    if (error instanceof RangeError) {
      throw new CompressionError(`decompressed data exceeds the limit of ${outputBytesMax} bytes`);
    }
    throw new CompressionError(`gzip: ${(error as Error).message}`);
  }
}
