// `sluice schemas`: the seed's "schema generator" and "register tool". `types` turns .avsc files into TypeScript
// types; `register` registers every .avsc file of a directory with a schema registry, each `<topic>.avsc` under the
// subject `<topic>-value`.

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

import avro from "avsc";

import { generateTypeScript } from "../../registry/avro-types.js";
import { createSchemaRegistryClient } from "../../toolkit/schema-registry-client.js";
import { stringOption } from "../args.js";
import { CliError, defineCommand, defineCommandGroup, EXIT_OK } from "../command.js";

export const AVSC_FILES_MAX = 1_000;
export const AVSC_FILE_BYTES_MAX = 1024 * 1024;

/** Every .avsc file of a directory, in name order, parsed and checked as Avro. */
export function readAvscDirectory(dir: string): { file: string; schema: object }[] {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((name) => name.endsWith(".avsc"))
      .sort();
  } catch (error) {
    throw new CliError(
      `cannot read ${dir}: ${error instanceof Error ? error.message : error}`,
      "Give a directory of .avsc files.",
    );
  }
  if (names.length === 0) throw new CliError(`${dir} has no .avsc files`, "Give a directory of .avsc files.");
  if (names.length > AVSC_FILES_MAX) throw new CliError(`${dir} has more than ${AVSC_FILES_MAX} .avsc files`);
  return names.map((name) => {
    const path = join(dir, name);
    const text = readFileSync(path, "utf8");
    if (Buffer.byteLength(text) > AVSC_FILE_BYTES_MAX)
      throw new CliError(`${path} is over ${AVSC_FILE_BYTES_MAX} bytes`);
    try {
      const schema = JSON.parse(text) as object;
      avro.Type.forSchema(schema as avro.Schema, { wrapUnions: "auto" });
      return { file: name, schema };
    } catch (error) {
      throw new CliError(
        `${path} is not a valid Avro schema: ${error instanceof Error ? error.message : error}`,
        "Fix the file.",
      );
    }
  });
}

const typesCommand = defineCommand({
  name: "types",
  summary: "Generate TypeScript types from the .avsc files of a directory",
  examples: ["sluice schemas types src/apps/orders/schemas --out src/apps/orders/schema-types.ts"],
  arguments: {
    options: {
      out: stringOption({ description: "Write the types to this file instead of stdout", valueName: "file" }),
    },
    positionals: [{ name: "dir", description: "Directory of .avsc files", required: true }],
  },
  async run({ options, positionals }, io) {
    const source = generateTypeScript(readAvscDirectory(positionals[0] as string));
    if (options.out === undefined) io.stdout.write(source);
    else writeFileSync(options.out, source);
    return EXIT_OK;
  },
});

const registerCommand = defineCommand({
  name: "register",
  summary: "Register every .avsc file of a directory with a schema registry (<topic>.avsc as <topic>-value)",
  examples: ["sluice schemas register src/apps/orders/schemas --registry http://127.0.0.1:8081"],
  arguments: {
    options: {
      registry: stringOption({
        description: "The schema registry's URL",
        valueName: "url",
        env: "SCHEMA_REGISTRY_URL",
        default: "http://127.0.0.1:8081",
      }),
    },
    positionals: [{ name: "dir", description: "Directory of .avsc files", required: true }],
  },
  async run({ options, positionals }, io) {
    const client = createSchemaRegistryClient({ url: options.registry });
    for (const { file, schema } of readAvscDirectory(positionals[0] as string)) {
      const subject = `${basename(file, ".avsc")}-value`;
      try {
        const id = await client.register(subject, { schemaType: "AVRO", schema: JSON.stringify(schema) });
        io.stdout.write(`${subject}\tid ${id}\t(${file})\n`);
      } catch (error) {
        throw new CliError(
          error instanceof Error ? error.message : String(error),
          "Is the registry running, and the schema compatible?",
        );
      }
    }
    return EXIT_OK;
  },
});

export const schemasCommand = defineCommandGroup({
  name: "schemas",
  summary: "Generate types from Avro schemas and register them with a schema registry",
  commands: [typesCommand, registerCommand],
});
