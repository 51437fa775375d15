// docs/kafka-client.md shows excerpts of examples/kafka-client.ts; these tests check that every excerpt is really in
// the example, and run the example against the embedded broker.

import assert from "node:assert/strict";
import { test } from "node:test";

import { tourOfTheClient } from "../../../examples/kafka-client.js";
import { clientFor } from "./support.js";
import { brokerForTest } from "../../helpers/broker.js";
import { assertBlocksAreExcerpts } from "../../helpers/docs.js";

test("every TypeScript block in the guide is an excerpt of the example the tests run", () => {
  assertBlocksAreExcerpts(
    new URL("../../../docs/kafka-client.md", import.meta.url),
    new URL("../../../examples/kafka-client.ts", import.meta.url),
    5,
  );
});

test("the guide's tour produces, reads back by offset and by time, resets a group and reads as its member", async (t) => {
  const broker = await brokerForTest(t);
  const log = t.mock.method(console, "log", () => undefined);
  const records = await tourOfTheClient(broker.address);
  assert.deepEqual(
    records.map((record) => [record.partition, record.offset, record.key?.toString()]),
    [
      [0, 0, "p-1"],
      [0, 1, "p-2"],
      [0, 0, "p-1"],
      [0, 1, "p-2"],
    ],
  );
  assert.equal(records[0]!.headers[0]!.value?.toString(), "example");
  assert.deepEqual(log.mock.calls[0]!.arguments, ["payment-auditors starts partition 0 at offset 0"]);
  const [committed] = await clientFor(t, broker).admin.fetchGroupOffsets("payment-auditors");
  assert.equal(committed!.offset, 2, "the member committed what it read");
});
