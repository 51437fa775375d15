// Splits a byte stream into lines, one batch per chunk read, so a caller can send what has arrived without waiting
// for more. A line longer than the limit is an error rather than an ever-growing buffer.

export const LINE_BYTES_MAX = 1024 * 1024;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export class LineTooLongError extends Error {
  override readonly name = "LineTooLongError";
  constructor(
    readonly lineNumber: number,
    readonly lineBytesMax: number,
  ) {
    super(`line ${lineNumber} is longer than ${lineBytesMax} bytes`);
  }
}

function decodeLine(bytes: Buffer): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN ? bytes.length - 1 : bytes.length;
  return bytes.toString("utf8", 0, end);
}

/**
 * Yields the complete lines found in each chunk, without their `\n` or `\r\n`. A last line without a newline is
 * yielded at the end of the stream; an empty stream yields nothing.
 */
export async function* readLineBatches(
  input: AsyncIterable<Buffer | string>,
  lineBytesMax: number = LINE_BYTES_MAX,
): AsyncGenerator<string[]> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let linesSeen = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    const lines: string[] = [];
    let tooLong = false;
    let start = 0;
    for (let newline = bytes.indexOf(NEWLINE); newline !== -1; newline = bytes.indexOf(NEWLINE, start)) {
      const piece = bytes.subarray(start, newline);
      if (pendingBytes + piece.length > lineBytesMax) {
        tooLong = true;
        break;
      }
      lines.push(decodeLine(pendingBytes === 0 ? piece : Buffer.concat([...pending, piece])));
      linesSeen++;
      pending = [];
      pendingBytes = 0;
      start = newline + 1;
    }
    const rest = bytes.subarray(start);
    if (!tooLong && rest.length > 0) {
      if (pendingBytes + rest.length > lineBytesMax) {
        tooLong = true;
      } else {
        pending.push(Buffer.from(rest));
        pendingBytes += rest.length;
      }
    }
    // The lines before an overlong one are handed out first, so that the caller can still send them.
    if (lines.length > 0) yield lines;
    if (tooLong) throw new LineTooLongError(linesSeen + 1, lineBytesMax);
  }
  if (pendingBytes > 0) yield [decodeLine(Buffer.concat(pending))];
}
