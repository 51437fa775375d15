import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { LineTooLongError, readLineBatches } from "../../src/cli/lines.js";

async function collect(chunks: (string | Buffer)[], lineBytesMax?: number): Promise<string[][]> {
  const batches: string[][] = [];
  for await (const batch of readLineBatches(Readable.from(chunks, { objectMode: true }), lineBytesMax)) {
    batches.push(batch);
  }
  return batches;
}

describe("readLineBatches", () => {
  test("yields the complete lines of each chunk as one batch", async () => {
    assert.deepEqual(await collect(["a\nb\n", "c\n"]), [["a", "b"], ["c"]]);
  });

  test("joins a line split across chunks and keeps a last line without a newline", async () => {
    assert.deepEqual(await collect(["he", "llo\nwor", "ld"]), [["hello"], ["world"]]);
  });

  test("strips \\r\\n even when \\r and \\n arrive in different chunks", async () => {
    assert.deepEqual(await collect(["one\r\ntwo\r", "\nthree"]), [["one"], ["two"], ["three"]]);
  });

  test("keeps empty lines in the middle but adds none at the end", async () => {
    assert.deepEqual(await collect(["a\n\nb\n"]), [["a", "", "b"]]);
    assert.deepEqual(await collect([]), []);
    assert.deepEqual(await collect(["\n"]), [[""]]);
  });

  test("decodes a multi-byte character split between chunks", async () => {
    const bytes = Buffer.from("zürich\n", "utf8");
    const splitAt = bytes.indexOf(0xc3) + 1;
    assert.deepEqual(await collect([bytes.subarray(0, splitAt), bytes.subarray(splitAt)]), [["zürich"]]);
  });

  test("hands out the lines before an overlong one, then refuses it", async () => {
    const batches: string[][] = [];
    const lines = readLineBatches(Readable.from(["ok\nfine\n1234567\nnever"]), 5);
    await assert.rejects(async () => {
      for await (const batch of lines) batches.push(batch);
    }, LineTooLongError);
    assert.deepEqual(batches, [["ok", "fine"]]);
  });

  test("refuses a line longer than the limit, naming its line number", async () => {
    await assert.rejects(collect(["ok\n12345", "6\n"], 5), (error: unknown) => {
      assert.ok(error instanceof LineTooLongError);
      assert.equal(error.lineNumber, 2);
      assert.match(error.message, /line 2 is longer than 5 bytes/);
      return true;
    });
    await assert.rejects(collect(["123456\n"], 5), LineTooLongError);
    await assert.rejects(collect(["1\n2\n123456"], 5), /line 3 is longer/);
    assert.deepEqual(await collect(["12345\n"], 5), [["12345"]]);
  });
});
