import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { listParkedOutboxRows, openDatabase, runMigrations } from "../../../src/store/index.js";
import { consoleForTest, requiredAuthForTest } from "../../console/harness.js";
import { parkedRowsForTest } from "../../helpers/parked-rows.js";
import { adminQuery, requirePostgresServer, SERVER_URL, uniqueSchemaName } from "../../store/harness.js";
import { runCli } from "../run-cli.js";

/** No DATABASE_URL from the developer's shell, so that the source is only what a test gives. */
const NO_DATABASE = { DATABASE_URL: "" };

describe("sluice outbox (child process)", { concurrency: 2 }, () => {
  test("bad arguments print the usage and exit with 2", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["outbox", "parked"], /give --database-url \(or DATABASE_URL\).*or --console-url/],
      [["outbox", "requeue", "--all"], /give --database-url/],
      [["outbox", "requeue", "--database-url", SERVER_URL], /give --id <row> \(repeatable\) or --all/],
      [["outbox", "requeue", "--database-url", SERVER_URL, "--id", "3", "--all"], /--id or --all, not both/],
      [["outbox", "requeue", "--database-url", SERVER_URL, "--id", "x"], /"x" is not a row id/],
      [["outbox", "parked", "--database-url", "mysql://somewhere"], /--database-url must be a postgres:\/\//],
      [["outbox", "parked", "--console-url", "ftp://somewhere"], /--console-url must be an http\(s\):\/\/ URL/],
      [["outbox", "parked", "--limit", "0", "--database-url", SERVER_URL], /--limit/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, { env: NO_DATABASE });
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /Usage: sluice outbox (parked|requeue)/);
    }
  });

  test("list and requeue parked rows in the PostgreSQL server at --database-url", async (t) => {
    if (!(await requirePostgresServer(t))) return;
    const schema = uniqueSchemaName();
    const db = await openDatabase({ url: SERVER_URL, schema });
    t.after(async () => {
      await db.close();
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    });
    const parked = await parkedRowsForTest(db, "invoices", ["invoice-1", "invoice-2"]);
    const source = ["--database-url", SERVER_URL, "--schema", schema];

    const listed = await runCli(["outbox", "parked", ...source]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^SCHEMA +ROW +EVENT ID +TOPIC +PARKED AT +ATTEMPTS +LAST ERROR/);
    for (const row of parked) {
      assert.match(listed.stdout, new RegExp(`${schema} +${row.id} +${row.eventId} +invoices .* MESSAGE_TOO_LARGE`));
    }
    const json = await runCli(["outbox", "parked", ...source, "--json"]);
    const [outbox] = JSON.parse(json.stdout).outboxes;
    assert.deepEqual(
      [outbox.schema, outbox.parkedCount, outbox.parked.map((row: { id: number }) => row.id)],
      [schema, 2, parked.map((row) => row.id)],
    );

    const chosen = await runCli(["outbox", "requeue", ...source, "--id", String(parked[0]!.id), "--id", "999999"]);
    assert.equal(chosen.code, 0, chosen.stderr);
    assert.equal(
      chosen.stdout,
      `requeued 1 parked row(s) of ${schema}; 1 id(s) given were not parked; 1 still parked\n`,
    );
    assert.deepEqual(
      (await listParkedOutboxRows(db)).map((row) => row.id),
      [parked[1]!.id],
    );
    const all = await runCli(["outbox", "requeue", ...source, "--all", "--json"]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(
      JSON.parse(all.stdout).requeued.map((done: { requeued: number; stillParked: number }) => [
        done.requeued,
        done.stillParked,
      ]),
      [[1, 0]],
    );
    const none = await runCli(["outbox", "parked", ...source]);
    assert.equal(none.stdout, "no parked outbox rows (1 outbox(es) looked at)\n");

    const missing = await runCli(["outbox", "requeue", "--database-url", SERVER_URL, "--schema", "no_such", "--all"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /the schema no_such has no outbox/);
  });

  test("--console-url goes through a running console, with its auth", async (t) => {
    const { auth, database, adminToken, viewerToken } = await requiredAuthForTest(t);
    const billing = database.withSchema("billing_service");
    await runMigrations(billing);
    const parked = await parkedRowsForTest(billing, "invoices", ["invoice-1", "invoice-2"]);
    const scene = await consoleForTest(t, { auth, database });
    const consoleUrl = `${await scene.gateway.listen()}/console`;
    const source = ["--console-url", consoleUrl, "--schema", "billing_service"];

    const anonymous = await runCli(["outbox", "parked", ...source], { env: NO_DATABASE });
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /the console answered 401/);
    assert.match(anonymous.stderr, /Give --token \(or SLUICE_TOKEN\)/);

    const listed = await runCli(["outbox", "parked", ...source, "--token", viewerToken], { env: NO_DATABASE });
    assert.equal(listed.code, 0, listed.stderr);
    for (const row of parked) assert.match(listed.stdout, new RegExp(`billing_service +${row.id} +${row.eventId}`));

    const refused = await runCli(["outbox", "requeue", ...source, "--all"], {
      env: { ...NO_DATABASE, SLUICE_TOKEN: viewerToken },
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the console answered 403/);
    assert.equal((await listParkedOutboxRows(billing)).length, 2);

    const done = await runCli(["outbox", "requeue", ...source, "--id", String(parked[1]!.id)], {
      env: { ...NO_DATABASE, SLUICE_TOKEN: adminToken },
    });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, "requeued 1 parked row(s) of billing_service; 1 still parked\n");
    assert.deepEqual(
      (await listParkedOutboxRows(billing)).map((row) => row.id),
      [parked[0]!.id],
    );
  });
});
