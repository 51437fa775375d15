// The schema registry and the Avro serdes, measured on this machine:
//   1. registration: POST /subjects/{s}/versions of new schemas, 32 clients, requests per second;
//   2. lookup by id: GET /schemas/ids/{id}, 32 clients, requests per second (what consumers call for a new id);
//   3. a 1 KiB Avro event encoded and decoded in the wire format with the id cached, events per second.
// The registry runs in this process over in-memory PGlite (or DATABASE_URL with --postgres). Prints a table and the
// command. Run: npm run bench:registry [-- --quick] [-- --postgres]

import { performance } from "node:perf_hooks";

import { startRegistry } from "../src/registry/index.js";
import { openDatabase } from "../src/store/index.js";
import { defineAvroTopic, serializerFor } from "../src/toolkit/index.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onPostgres = args.includes("--postgres");
const CLIENTS = 32;
const REGISTRATIONS = quick ? 200 : 1_000;
const LOOKUP_SECONDS = quick ? 2 : 5;
const CODEC_EVENTS = quick ? 50_000 : 200_000;
const SERVER_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

function schemaNumbered(n: number): string {
  return JSON.stringify({
    type: "record",
    name: "Event",
    namespace: "bench",
    fields: [
      { name: "id", type: "string" },
      { name: `field${n}`, type: "int", default: n },
    ],
  });
}

async function inParallel(clients: number, work: (client: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: clients }, (_, client) => work(client)));
}

async function main(): Promise<void> {
  const schema = onPostgres ? `bench_registry_${process.pid}` : "sluice_registry";
  const database = await openDatabase({ url: onPostgres ? SERVER_URL : null, schema, migrate: false, poolSize: 16 });
  const running = await startRegistry({ port: 0, database });
  const rows: [string, string][] = [];
  try {
    let next = 0;
    const registerStart = performance.now();
    await inParallel(CLIENTS, async () => {
      while (next < REGISTRATIONS) {
        const n = next++;
        const response = await fetch(`${running.url}/subjects/bench-${n % 50}/versions`, {
          method: "POST",
          headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
          body: JSON.stringify({ schema: schemaNumbered(n) }),
        });
        if (!response.ok) throw new Error(`registration failed: ${await response.text()}`);
      }
    });
    const registerSeconds = (performance.now() - registerStart) / 1000;
    rows.push(["register (new schemas, 32 clients)", `${Math.round(REGISTRATIONS / registerSeconds)} requests/s`]);

    let lookups = 0;
    const lookupEnd = performance.now() + LOOKUP_SECONDS * 1000;
    const lookupStart = performance.now();
    await inParallel(CLIENTS, async (client) => {
      while (performance.now() < lookupEnd) {
        const response = await fetch(`${running.url}/schemas/ids/${(client % REGISTRATIONS) + 1}`);
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`lookup failed: ${response.status}`);
        lookups += 1;
      }
    });
    const lookupSeconds = (performance.now() - lookupStart) / 1000;
    rows.push(["lookup by id (32 clients)", `${Math.round(lookups / lookupSeconds)} requests/s`]);

    const topic = defineAvroTopic<{ id: string; payload: string; amount: number }>({
      name: "bench.codec",
      schema: {
        type: "record",
        name: "Payload",
        fields: [
          { name: "id", type: "string" },
          { name: "payload", type: "string" },
          { name: "amount", type: "long" },
        ],
      },
      registry: { url: running.url },
    });
    const serializer = serializerFor(topic);
    await serializer.prepare?.(topic);
    const value = { id: "0f8e2a52-6c1e-4c3a-9f55-1f0c1d2b3a4e", payload: "x".repeat(970), amount: 123_456 };
    const sample = serializer.encode(topic, value);
    await serializer.prepareDecode?.(topic, sample);
    const codecStart = performance.now();
    for (let i = 0; i < CODEC_EVENTS; i++) serializer.decode(topic, serializer.encode(topic, value));
    const codecSeconds = (performance.now() - codecStart) / 1000;
    rows.push([
      `Avro encode+decode (${sample.length} B event, id cached)`,
      `${Math.round(CODEC_EVENTS / codecSeconds)} events/s`,
    ]);
  } finally {
    await running.close();
    if (onPostgres) await database.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await database.close();
  }
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(`\nschema registry (${onPostgres ? "PostgreSQL server" : "PGlite"}), Node ${process.version}`);
  for (const [name, result] of rows) console.log(`  ${name.padEnd(width)}  ${result}`);
  console.log(`\ncommand: npm run bench:registry${args.length > 0 ? ` -- ${args.join(" ")}` : ""}`);
}

await main();
