// The two ways compressed data can fail: a codec this runtime cannot handle, or bytes that are not valid for it.

export class UnsupportedCompressionError extends Error {
  override name = "UnsupportedCompressionError";
}

export class CompressionError extends Error {
  override name = "CompressionError";
}
