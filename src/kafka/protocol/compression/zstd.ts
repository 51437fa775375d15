// zstd through node:zlib when the runtime has it (Node 22.15 and later); older runtimes report it unsupported.

import * as zlib from "node:zlib";
import { CompressionError, UnsupportedCompressionError } from "./errors.js";

interface ZstdFunctions {
  zstdCompressSync?: (data: Uint8Array) => Buffer;
  zstdDecompressSync?: (data: Uint8Array, options?: { maxOutputLength?: number }) => Buffer;
}

const runtime = zlib as unknown as ZstdFunctions;

export function zstdAvailable(): boolean {
  return typeof runtime.zstdCompressSync === "function" && typeof runtime.zstdDecompressSync === "function";
}

function unsupported(): UnsupportedCompressionError {
  return new UnsupportedCompressionError(
    `zstd needs Node 22.15 or later (node:zlib zstd support); this is Node ${process.versions.node}`,
  );
}

export function zstdCompress(data: Uint8Array): Buffer {
  if (runtime.zstdCompressSync === undefined) throw unsupported();
  return runtime.zstdCompressSync(data);
}

export function zstdDecompress(data: Uint8Array, outputBytesMax: number): Buffer {
  if (runtime.zstdDecompressSync === undefined) throw unsupported();
  try {
    return runtime.zstdDecompressSync(data, { maxOutputLength: outputBytesMax });
  } catch (error) {
    if (error instanceof RangeError) {
      throw new CompressionError(`decompressed data exceeds the limit of ${outputBytesMax} bytes`);
    }
    throw new CompressionError(`zstd: ${(error as Error).message}`);
  }
}
