// The Kafka client seam: src/toolkit/kafka/ is the only place under src/ that imports a third-party Kafka client
// library, so the library can be swapped there without touching the CLI, the gateway, the apps or the console.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SEAM = "src/toolkit/kafka/";
/** Kafka client packages; a new one belongs behind the seam too. */
const KAFKA_CLIENT_PACKAGE =
  /^\s*(?:import|export)\b[^'"]*?["'](kafkajs|@platformatic\/kafka|node-rdkafka|@confluentinc\/[^"']+)["']/m;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

test("only src/toolkit/kafka/ imports a Kafka client library", () => {
  const outside = sourceFiles(join(ROOT, "src"))
    .map((file) => relative(ROOT, file))
    .filter((file) => !file.startsWith(SEAM) && KAFKA_CLIENT_PACKAGE.test(readFileSync(join(ROOT, file), "utf8")));
  assert.deepEqual(outside, []);
  const inside = sourceFiles(join(ROOT, SEAM)).filter((file) => KAFKA_CLIENT_PACKAGE.test(readFileSync(file, "utf8")));
  assert.ok(inside.length > 0, "the pattern still finds the seam's own imports");
});

test("outside the seam, consumers and admins come from the client the seam made, not a library's own factory", () => {
  // createKafkaConsumer and createKafkaAdmin are kafkajs's side of the seam; callers ask KafkaClient.consumer() and
  // .admin(), which honour the chosen library (KAFKA_CLIENT).
  const direct = sourceFiles(join(ROOT, "src"))
    .map((file) => relative(ROOT, file))
    .filter((file) => !file.startsWith(SEAM))
    .filter((file) => /\bcreateKafka(?:Consumer|Admin)\b/.test(readFileSync(join(ROOT, file), "utf8")));
  assert.deepEqual(direct, []);
});
