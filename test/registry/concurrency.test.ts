// Two registries sharing one PostgreSQL database (as two processes would) registering at the same time: one schema
// from many clients gets one id, and different schemas never share one.

import assert from "node:assert/strict";

import { openSchemaRegistry } from "../../src/registry/index.js";
import { storeTest } from "../store/harness.js";

const CLIENTS = 16;

function schemaNumbered(n: number): string {
  return JSON.stringify({ type: "record", name: `R${n}`, fields: [{ name: "a", type: "int" }] });
}

storeTest(
  "concurrent registrations from two registries agree on ids and versions",
  async (_t, target) => {
    const first = await openSchemaRegistry(await target.open({ migrate: false }));
    const second = await openSchemaRegistry(await target.open({ migrate: false }));
    const registries = [first, second];
    const input = (schema: string) => ({ schema, schemaType: "AVRO" as const, references: [], normalize: false });

    const sameIds = await Promise.all(
      Array.from({ length: CLIENTS }, (_, n) =>
        (registries[n % 2] ?? first).register("same-value", input(schemaNumbered(0))),
      ),
    );
    assert.equal(new Set(sameIds).size, 1, `one id, got ${sameIds.join(",")}`);
    assert.deepEqual(await second.versions("same-value", true), [1]);

    // Unrelated records under one subject: this part is about ids and versions, not compatibility.
    await first.setCompatibilityLevel(null, "NONE");
    const distinctIds = await Promise.all(
      Array.from({ length: CLIENTS }, (_, n) =>
        (registries[n % 2] ?? first).register(`subject-${n % 4}`, { ...input(schemaNumbered(n + 1)) }),
      ),
    );
    assert.equal(new Set(distinctIds).size, CLIENTS, "every schema its own id");
    for (let subject = 0; subject < 4; subject += 1) {
      assert.deepEqual(await first.versions(`subject-${subject}`, true), [1, 2, 3, 4]);
    }
  },
  { kinds: ["postgres"] },
);
