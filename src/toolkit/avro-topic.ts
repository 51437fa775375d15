// Topics whose events are Avro records: declared with the .avsc schema (an object, or a file), validated by it, and
// carried in Confluent's wire format through a schema registry. The event type is given by the caller, usually
// the one `sluice schemas types` generated from the same .avsc file.

import { readFileSync } from "node:fs";

import avro from "avsc";

import { EventValidationError, ToolkitError, ToolkitErrorCode } from "./errors.js";
import { avroSerializer, type RegistrySerializerOptions } from "./registry-serializers.js";
import { DEFAULT_TOPIC_PARTITIONS, TOPIC_NAME_PATTERN, type TopicDefinition } from "./topic.js";

export const AVSC_FILE_BYTES_MAX = 1024 * 1024;

export interface DefineAvroTopicOptions<T> extends RegistrySerializerOptions {
  name: string;
  partitions?: number;
  /** The Avro schema: a parsed .avsc, or a URL or path of the file. */
  schema: object | URL | string;
  key?: (value: T) => string | null;
  eventType?: string;
}

function definitionError(name: string, message: string, cause?: unknown): ToolkitError {
  return new ToolkitError(ToolkitErrorCode.TOPIC_DEFINITION_INVALID, `topic "${name}": ${message}`, { cause });
}

/** Reads an .avsc file, refusing one that is too large or not JSON. */
export function readAvscFile(path: URL | string): object {
  const text = readFileSync(path, "utf8");
  if (Buffer.byteLength(text) > AVSC_FILE_BYTES_MAX)
    throw new Error(`${String(path)} is over ${AVSC_FILE_BYTES_MAX} bytes`);
  return JSON.parse(text) as object;
}

export function defineAvroTopic<T>(options: DefineAvroTopicOptions<T>): TopicDefinition<T> {
  const { name } = options;
  if (!TOPIC_NAME_PATTERN.test(name))
    throw definitionError(name, "the name must be 1 to 249 letters, digits, '.', '_' and '-'");
  let schema: object;
  let type: avro.Type;
  try {
    schema =
      typeof options.schema === "object" && !(options.schema instanceof URL)
        ? options.schema
        : readAvscFile(options.schema);
    type = avro.Type.forSchema(schema as avro.Schema, { wrapUnions: "auto" });
  } catch (error) {
    throw definitionError(
      name,
      `the Avro schema cannot be read: ${error instanceof Error ? error.message : error}`,
      error,
    );
  }
  const keyOf = options.key;
  return Object.freeze({
    name,
    partitions: options.partitions ?? DEFAULT_TOPIC_PARTITIONS,
    eventType: options.eventType ?? name,
    schema,
    serializer: avroSerializer(schema, options),
    key: (value: T) => (keyOf === undefined ? null : keyOf(value)),
    validate(value: unknown): T {
      let problem: { path: string; detail: string } | null = null;
      const valid = type.isValid(value, {
        errorHook(path, invalid) {
          problem ??= {
            path: path.length === 0 ? "(root)" : path.join("."),
            detail: `${JSON.stringify(invalid) ?? String(invalid)} does not fit`,
          };
        },
      });
      if (valid) return value as T;
      const found = problem as { path: string; detail: string } | null;
      throw new EventValidationError(
        name,
        found?.path ?? "(root)",
        found?.detail ?? "the value does not fit the Avro schema",
      );
    },
  });
}
