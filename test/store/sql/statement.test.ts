// The array parameters the SQL builders pass as literals arrive as the same arrays, on PGlite and the server.

import assert from "node:assert/strict";

import { integerArrayParam, textArrayParam } from "../../../src/store/sql/statement.js";
import { StoreError } from "../../../src/store/index.js";
import { storeTest, testOnEveryPgliteThread } from "../harness.js";

testOnEveryPgliteThread();

const AWKWARD_TEXTS = [
  "plain",
  "",
  "with space",
  "comma,inside",
  "{braces}",
  "NULL",
  'quote"inside',
  "back\\slash",
  "é😀",
  "new\nline",
];

storeTest("text and integer array parameters arrive as the arrays they were built from", async (_t, target) => {
  const db = await target.open();
  const roundTrip = async (param: unknown, type: string): Promise<unknown> =>
    (await db.query<{ value: unknown }>(`SELECT $1::${type} AS value`, [param])).rows[0]!.value;
  for (const values of [["a"], ["a", "b c"], AWKWARD_TEXTS.filter((text) => !/["\\]/.test(text)), AWKWARD_TEXTS, []]) {
    assert.deepEqual(await roundTrip(textArrayParam(values), "text[]"), values);
  }
  // Only a list without quotes or backslashes becomes a literal; the others are left to the driver to escape.
  assert.equal(textArrayParam(["a", "b"]), '{"a","b"}');
  assert.equal(textArrayParam([]), "{}");
  assert.deepEqual(textArrayParam(['a"b']), ['a"b']);
  assert.deepEqual(await roundTrip(integerArrayParam([0, -3, 2_147_483_647]), "integer[]"), [0, -3, 2_147_483_647]);
  const big = Number.MAX_SAFE_INTEGER;
  const bigints = (await roundTrip(integerArrayParam([big, 1]), "bigint[]")) as unknown[];
  assert.deepEqual(bigints.map(Number), [big, 1]);
  assert.throws(() => integerArrayParam([1.5]), StoreError);
});
