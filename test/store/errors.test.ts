// The store's reading of PostgreSQL's errors, on every back end: a unique violation is recognised, by its constraint too.

import assert from "node:assert/strict";

import { isUniqueViolation, sqlStateOf } from "../../src/store/index.js";
import { storeTest, testOnEveryPgliteThread } from "./harness.js";

testOnEveryPgliteThread();

storeTest("a unique violation is recognised, and by the constraint it broke", async (_t, target) => {
  const db = await target.open();
  await db.exec("CREATE TABLE accounts (name text CONSTRAINT accounts_name_key UNIQUE, email text UNIQUE)");
  await db.query("INSERT INTO accounts VALUES ('ada', 'ada@example.com')");
  const violation = await db.query("INSERT INTO accounts VALUES ('ada', 'other@example.com')").then(
    () => assert.fail("the duplicate name was accepted"),
    (error: unknown) => error,
  );
  assert.equal(sqlStateOf(violation), "23505");
  assert.equal(isUniqueViolation(violation), true);
  assert.equal(isUniqueViolation(violation, "accounts_name_key"), true);
  assert.equal(isUniqueViolation(violation, "accounts_email_key"), false);
  const otherFailure = await db.query("SELECT * FROM no_such_table").then(
    () => assert.fail("the query succeeded"),
    (error: unknown) => error,
  );
  assert.equal(isUniqueViolation(otherFailure), false);
  assert.equal(
    isUniqueViolation(new Error('duplicate key value violates unique constraint "accounts_name_key"')),
    false,
  );
  assert.equal(isUniqueViolation(null), false);
});
