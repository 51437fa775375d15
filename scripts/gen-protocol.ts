// Generates src/kafka/protocol/messages/ from Kafka's JSON message definitions: one module per message with its
// declaration (as data, read by codec.ts) and its TypeScript types, plus a table of every API key's name.
// Run: npm run gen:protocol [-- path/to/message/dir]

import { readdirSync, readFileSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const specDir = resolve(process.argv[2] ?? "../shared/reference/kafka-protocol/message");
const outDir = resolve("src/kafka/protocol/messages");

/** The API keys whose requests and responses Sluice declares. */
const DECLARED_API_KEYS = new Set([
  0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 29, 30, 31, 32, 33, 35, 36, 37, 42, 44, 47,
  48, 49, 50, 51, 60, 75,
]);
/** Non-API messages the broker and tools also read. */
const EXTRA_MESSAGES = [
  "RequestHeader",
  "ResponseHeader",
  "ConsumerProtocolSubscription",
  "ConsumerProtocolAssignment",
];

interface JsonField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string;
  fields?: JsonField[];
}

interface JsonMessage {
  apiKey?: number;
  type: "request" | "response" | "header" | "data";
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: JsonField[];
  commonStructs?: Array<{ name: string; versions: string; fields: JsonField[] }>;
}

function parseJson(path: string): JsonMessage {
  const text = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => !line.trim().startsWith("//"))
    .join("\n");
  return JSON.parse(text) as JsonMessage;
}

function range(text: string | undefined): string | null {
  if (text === undefined || text === "none") return null;
  if (text.endsWith("+")) return `[${Number(text.slice(0, -1))}, Infinity]`;
  const [min, max] = text.split("-");
  return `[${Number(min)}, ${Number(max ?? min)}]`;
}

function minVersion(text: string): number {
  return Number(text.replace("+", "").split("-")[0]);
}

function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

const PRIMITIVES = new Set([
  "int8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "float64",
  "bool",
  "string",
  "bytes",
  "records",
  "uuid",
]);

function defaultLiteral(field: JsonField): string | undefined {
  if (field.default === undefined) return undefined;
  const base = field.type;
  if (field.default === "null") return "null";
  if (base === "bool") return field.default === "true" ? "true" : "false";
  if (base === "string") return JSON.stringify(field.default);
  if (["int8", "int16", "uint16", "int32", "uint32", "int64", "float64"].includes(base)) {
    return String(Number(field.default));
  }
  return undefined;
}

class Emitter {
  readonly interfaces: string[] = [];
  private readonly common = new Map<string, JsonField[]>();
  private readonly emitted = new Set<string>();

  constructor(
    private readonly message: JsonMessage,
    private readonly requiredAll: boolean,
  ) {
    for (const struct of message.commonStructs ?? []) this.common.set(struct.name, struct.fields);
  }

  private tsPrimitive(type: string): string {
    switch (type) {
      case "bool":
        return "boolean";
      case "string":
        return "string";
      case "bytes":
      case "uuid":
        return "Buffer";
      case "records":
        return "Buffer | null";
      default:
        return "number";
    }
  }

  typeExpression(field: JsonField): { schema: string; ts: string } {
    const isArray = field.type.startsWith("[]");
    const base = isArray ? field.type.slice(2) : field.type;
    let itemSchema: string;
    let itemTs: string;
    if (PRIMITIVES.has(base)) {
      itemSchema = `{ kind: "primitive", name: "${base}" }`;
      itemTs = this.tsPrimitive(base);
    } else {
      const fields = field.fields ?? this.common.get(base);
      if (fields === undefined) throw new Error(`${this.message.name}: unknown struct type ${base}`);
      itemSchema = `{ kind: "struct", name: "${base}", fields: ${this.fieldsSchema(fields, "      ")} }`;
      this.emitInterface(base, fields);
      itemTs = base;
    }
    return isArray
      ? { schema: `{ kind: "array", items: ${itemSchema} }`, ts: `${itemTs}[]` }
      : { schema: itemSchema, ts: itemTs };
  }

  fieldsSchema(fields: JsonField[], indent: string): string {
    const lines = fields.map((field) => {
      const { schema } = this.typeExpression(field);
      const parts = [
        `name: "${camel(field.name)}"`,
        `type: ${schema}`,
        `versions: ${range(field.versions) ?? "[1, 0]"}`,
      ];
      const nullable = range(field.nullableVersions);
      if (nullable) parts.push(`nullableVersions: ${nullable}`);
      const tagged = range(field.taggedVersions);
      if (tagged) parts.push(`taggedVersions: ${tagged}`);
      if (field.tag !== undefined) parts.push(`tag: ${field.tag}`);
      const fallback = defaultLiteral(field);
      if (fallback !== undefined) parts.push(`default: ${fallback}`);
      return `${indent}  { ${parts.join(", ")} },`;
    });
    return `[\n${lines.join("\n")}\n${indent}]`;
  }

  emitInterface(name: string, fields: JsonField[]): void {
    if (this.emitted.has(name)) return;
    this.emitted.add(name);
    const valid = minVersion(this.message.validVersions);
    const members = fields.map((field) => {
      const { ts } = this.typeExpression(field);
      const nullable = field.nullableVersions !== undefined && !ts.includes("null") ? " | null" : "";
      const optional =
        !this.requiredAll &&
        (field.versions === "none" ||
          minVersion(field.versions) > valid ||
          field.default !== undefined ||
          field.taggedVersions !== undefined);
      return `  ${camel(field.name)}${optional ? "?" : ""}: ${ts}${nullable};`;
    });
    this.interfaces.push(`export interface ${name} {\n${members.join("\n")}\n}`);
  }
}

function generate(message: JsonMessage): { file: string; constName: string; typeName: string; source: string } {
  const requiredAll = message.type !== "response";
  const emitter = new Emitter(message, requiredAll);
  const typeName = message.name;
  const fields = emitter.fieldsSchema(message.fields, "");
  emitter.emitInterface(typeName, message.fields);
  const constName = `${typeName}Schema`;
  const source = [
    "// Generated by scripts/gen-protocol.ts from Kafka's message definitions. Do not edit by hand.",
    "",
    'import type { MessageSchema } from "../schema.js";',
    "",
    ...emitter.interfaces.flatMap((block) => [block, ""]),
    `export const ${constName}: MessageSchema = {`,
    `  name: "${message.name}",`,
    `  apiKey: ${message.apiKey ?? -1},`,
    `  kind: "${message.type}",`,
    `  validVersions: ${range(message.validVersions)},`,
    `  flexibleVersions: ${range(message.flexibleVersions)},`,
    `  fields: ${fields},`,
    "};",
    "",
  ].join("\n");
  return { file: `${kebab(message.name)}.ts`, constName, typeName, source };
}

const files = readdirSync(specDir).filter((name) => name.endsWith(".json"));
const messages = files.map((name) => parseJson(join(specDir, name)));
const apiNames = new Map<number, string>();
for (const message of messages) {
  if (message.type === "request" && message.apiKey !== undefined)
    apiNames.set(message.apiKey, message.name.replace(/Request$/, ""));
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const exports: string[] = [];
for (const message of messages) {
  const wanted =
    EXTRA_MESSAGES.includes(message.name) ||
    (message.apiKey !== undefined &&
      DECLARED_API_KEYS.has(message.apiKey) &&
      (message.type === "request" || message.type === "response"));
  if (!wanted) continue;
  const generated = generate(message);
  writeFileSync(join(outDir, generated.file), generated.source);
  const module = generated.file.replace(/\.ts$/, ".js");
  // Only the top-level names: nested struct names repeat across messages; import them from their module.
  exports.push(`export { ${generated.constName}, type ${generated.typeName} } from "./${module}";`);
}
exports.sort();

const names = [...apiNames.entries()].sort((a, b) => a[0] - b[0]).map(([key, name]) => `  [${key}, "${name}"],`);
writeFileSync(
  join(outDir, "index.ts"),
  [
    "// Generated by scripts/gen-protocol.ts from Kafka's message definitions. Do not edit by hand.",
    "",
    ...exports,
    "",
    "/** The name of every Kafka API key, for logs and errors; which ones Sluice serves is the broker's business. */",
    "export const API_KEY_NAMES: ReadonlyMap<number, string> = new Map([",
    ...names,
    "]);",
    "",
  ].join("\n"),
);
console.log(`generated ${exports.length} message modules into ${outDir}`);

// Error codes: the table from error-codes.tsv, with the retriable flag as data. Which codes are retriable is a
// fact of Kafka's error classes (subclasses of RetriableException), listed here by name.
const RETRIABLE = new Set([
  "CORRUPT_MESSAGE",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "LEADER_NOT_AVAILABLE",
  "NOT_LEADER_OR_FOLLOWER",
  "REQUEST_TIMED_OUT",
  "NETWORK_EXCEPTION",
  "COORDINATOR_LOAD_IN_PROGRESS",
  "COORDINATOR_NOT_AVAILABLE",
  "NOT_COORDINATOR",
  "NOT_ENOUGH_REPLICAS",
  "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
  "KAFKA_STORAGE_ERROR",
  "FETCH_SESSION_ID_NOT_FOUND",
  "INVALID_FETCH_SESSION_EPOCH",
  "LISTENER_NOT_FOUND",
  "FENCED_LEADER_EPOCH",
  "UNKNOWN_LEADER_EPOCH",
  "OFFSET_NOT_AVAILABLE",
  "PREFERRED_LEADER_NOT_AVAILABLE",
  "ELIGIBLE_LEADERS_NOT_AVAILABLE",
  "UNSTABLE_OFFSET_COMMIT",
  "THROTTLING_QUOTA_EXCEEDED",
  "CONCURRENT_TRANSACTIONS",
  "UNKNOWN_TOPIC_ID",
  "INCONSISTENT_TOPIC_ID",
  "FETCH_SESSION_TOPIC_ID_ERROR",
  "OFFSET_MOVED_TO_TIERED_STORAGE",
  "REBALANCE_IN_PROGRESS",
]);
const errorRows = readFileSync(join(specDir, "..", "error-codes.tsv"), "utf8")
  .trim()
  .split("\n")
  .slice(1)
  .map((line) => line.split("\t"))
  .map(([code, name, message]) => ({ code: Number(code), name: name!, message: message! }));
if (!errorRows.some((row) => row.code === 0)) errorRows.unshift({ code: 0, name: "NONE", message: "No error." });
writeFileSync(
  resolve("src/kafka/protocol/error-codes.ts"),
  [
    "// Generated by scripts/gen-protocol.ts from Kafka's error-codes.tsv. Do not edit by hand.",
    "",
    "export interface KafkaErrorInfo {",
    "  readonly code: number;",
    "  readonly name: string;",
    "  readonly message: string;",
    "  readonly retriable: boolean;",
    "}",
    "",
    "export const ErrorCode = {",
    ...errorRows.map((row) => `  ${row.name}: ${row.code},`),
    "} as const;",
    "",
    "export const KAFKA_ERRORS: ReadonlyMap<number, KafkaErrorInfo> = new Map([",
    ...errorRows.map(
      (row) =>
        `  [${row.code}, { code: ${row.code}, name: "${row.name}", message: ${JSON.stringify(row.message)}, retriable: ${RETRIABLE.has(row.name)} }],`,
    ),
    "]);",
    "",
  ].join("\n"),
);
console.log(`generated ${errorRows.length} error codes`);
