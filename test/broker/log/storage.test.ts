import assert from "node:assert/strict";
import { test } from "node:test";
import { FileSegmentStorage } from "../../../src/broker/log/file-storage.js";
import { MemorySegmentStorage } from "../../../src/broker/log/memory-storage.js";
import type { SegmentStorage } from "../../../src/broker/log/storage.js";
import { temporaryDir } from "./log-test-helpers.js";

for (const mode of ["file", "memory"] as const) {
  test(`${mode} storage: appends, reads, truncates, and bytes already read never change`, async () => {
    const temporary = mode === "file" ? temporaryDir() : null;
    const storage: SegmentStorage =
      temporary === null ? new MemorySegmentStorage() : new FileSegmentStorage(`${temporary.dir}/p`);
    const file = storage.open("a.log");
    file.append(Buffer.from("hello "));
    file.append(Buffer.from("world"));
    assert.equal(file.sizeBytes, 11);
    const seen = file.read(0, 11);
    assert.equal(seen.toString(), "hello world");
    assert.equal(file.read(6, 100).toString(), "world");
    assert.equal(file.read(20, 5).length, 0);
    file.truncate(5);
    file.append(Buffer.from("XXXXXXXXXXXXXXXXXXXX"));
    assert.equal(seen.toString(), "hello world");
    assert.equal(file.read(0, 8).toString(), "helloXXX");
    await file.sync();
    assert.deepEqual(storage.list(), ["a.log"]);

    storage.writeWhole("a.index", Buffer.from([1, 2, 3]), true);
    assert.deepEqual(storage.readWhole("a.index"), Buffer.from([1, 2, 3]));
    assert.equal(storage.readWhole("missing"), null);
    assert.equal(typeof storage.modifiedMs("a.log"), "number");
    await storage.syncDirectory();
    file.close();
    if (mode === "file") {
      const again = storage.open("a.log");
      assert.equal(again.read(0, 100).toString(), "helloXXXXXXXXXXXXXXXXXXXX");
      again.close();
    }
    storage.remove("a.index");
    assert.equal(storage.readWhole("a.index"), null);
    storage.destroy();
    temporary?.cleanup();
  });
}
