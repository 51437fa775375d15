// docs/broker-configs.md is generated from the config tables; it must match what the broker answers today.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { renderConfigDocs } from "../../src/broker/configs/docs.js";
import { BROKER_CONFIG_DEFINITIONS } from "../../src/broker/configs/broker-configs.js";
import { TOPIC_CONFIG_DEFINITIONS } from "../../src/broker/configs/topic-configs.js";

test("docs/broker-configs.md is up to date with the config tables (npm run gen:config-docs)", () => {
  const committed = readFileSync(new URL("../../docs/broker-configs.md", import.meta.url), "utf8");
  assert.equal(committed, renderConfigDocs(), "run npm run gen:config-docs and commit the result");
});

test("every config is declared once, in name order, with documentation", () => {
  for (const table of [TOPIC_CONFIG_DEFINITIONS, BROKER_CONFIG_DEFINITIONS]) {
    const names = table.map((definition) => definition.name);
    assert.deepEqual(names, [...new Set(names)].sort());
    for (const definition of table) assert.ok(definition.documentation.length > 10, definition.name);
  }
});
