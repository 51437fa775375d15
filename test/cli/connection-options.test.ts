// The one check of a PostgreSQL URL that `sluice up`, console, outbox and registry make before opening a database.

import assert from "node:assert/strict";
import { test } from "node:test";

import { isPostgresUrl } from "../../src/cli/connection-options.js";

test("isPostgresUrl takes postgres:// and postgresql:// URLs without spaces, and nothing else", () => {
  for (const url of [
    "postgres://localhost/app",
    "postgresql://app:secret@db.internal:5432/app?sslmode=require",
    "postgres://127.0.0.1",
  ]) {
    assert.equal(isPostgresUrl(url), true, url);
  }
  for (const url of [
    "",
    "postgres://",
    "postgres:/localhost/app",
    "postgre://localhost/app",
    "mysql://localhost/app",
    "POSTGRES://localhost/app",
    " postgres://localhost/app",
    "postgres://local host/app",
    "postgres://localhost/app\n",
  ]) {
    assert.equal(isPostgresUrl(url), false, JSON.stringify(url));
  }
});
