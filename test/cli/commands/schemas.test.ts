// `sluice schemas types` and `sluice schemas register`, run as a user would, against a real registry.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { startRegistry } from "../../../src/registry/index.js";
import { openDatabase } from "../../../src/store/index.js";
import { temporaryDir } from "../../helpers/environment.js";
import { sharedPgliteSnapshot } from "../../store/harness.js";
import { runCli } from "../run-cli.js";

const SCHEMA = {
  type: "record",
  name: "Shipment",
  namespace: "shop",
  fields: [
    { name: "id", type: "string" },
    { name: "state", type: { type: "enum", name: "ShipmentState", symbols: ["PACKED", "SENT"] } },
    { name: "weights", type: { type: "map", values: "double" } },
    { name: "note", type: ["null", "string"], default: null },
  ],
};

test("schemas types prints TypeScript types; schemas register registers each file as <topic>-value", async (t) => {
  const dir = temporaryDir(t);
  writeFileSync(join(dir, "shipment.sent.avsc"), JSON.stringify(SCHEMA));
  const types = await runCli(["schemas", "types", dir]);
  assert.equal(types.code, 0, types.stderr);
  assert.match(types.stdout, /export interface Shipment \{\n {2}id: string;\n {2}state: ShipmentState;/);
  assert.match(types.stdout, /export type ShipmentState = "PACKED" \| "SENT";/);
  assert.match(types.stdout, /weights: Record<string, number>;\n {2}note: null \| string;/);

  const database = await openDatabase({ pgliteSnapshot: await sharedPgliteSnapshot(), migrate: false });
  const registry = await startRegistry({ port: 0, database });
  t.after(async () => {
    await registry.close();
    await database.close();
  });
  const registered = await runCli(["schemas", "register", dir, "--registry", registry.url]);
  assert.equal(registered.code, 0, registered.stderr);
  assert.equal(registered.stdout, "shipment.sent-value\tid 1\t(shipment.sent.avsc)\n");
  assert.deepEqual(await registry.registry.versions("shipment.sent-value", false), [1]);

  writeFileSync(join(dir, "broken.avsc"), "{ not json");
  const broken = await runCli(["schemas", "types", dir]);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /broken\.avsc is not a valid Avro schema/);
  const missing = await runCli(["schemas", "register"]);
  assert.equal(missing.code, 2);
});
