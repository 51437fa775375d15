// What a `sluice` command is: a name, its argument specs and a run function, plus groups of commands
// (`sluice topics list`). Executing a command turns every failure into a message and an exit code:
// 2 with the usage line for a bad argument, 1 with a hint for anything that went wrong while running.

import type { Readable, Writable } from "node:stream";
import {
  ArgumentError,
  closestName,
  parseArguments,
  type ArgumentsSpec,
  type Environment,
  type OptionSpecs,
  type OptionValues,
} from "./args.js";
import { formatUsage, formatUsageHint, formatUsageLine } from "./usage.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface CommandIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Environment;
}

/** A failure the user can act on: the message says what happened, the hint says what to do next. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly hint: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  usage(parentPath: string): string;
  execute(argv: readonly string[], io: CommandIo, parentPath: string): Promise<number>;
}

export interface CommandInput<S extends OptionSpecs> {
  readonly options: OptionValues<S>;
  readonly positionals: string[];
}

export interface CommandDefinition<S extends OptionSpecs> {
  readonly name: string;
  readonly summary: string;
  readonly details?: readonly string[];
  readonly examples?: readonly string[];
  readonly arguments: ArgumentsSpec<S>;
  /** Resolves to the exit code. Throws CliError for failures the user can act on. */
  run(input: CommandInput<S>, io: CommandIo): Promise<number>;
}

function joinPath(parentPath: string, name: string): string {
  return parentPath === "" ? name : `${parentPath} ${name}`;
}

export function reportFailure(error: unknown, commandPath: string, io: CommandIo): number {
  if (error instanceof CliError) {
    io.stderr.write(`${commandPath}: ${error.message}\n`);
    if (error.hint !== null) io.stderr.write(`${error.hint}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`${commandPath}: unexpected error: ${message}\n`);
    if (io.env.SLUICE_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    else io.stderr.write("Set SLUICE_DEBUG=1 to see the stack trace, and please report it if it persists.\n");
  }
  return EXIT_FAILURE;
}

export function defineCommand<S extends OptionSpecs>(definition: CommandDefinition<S>): Command {
  const usage = (parentPath: string): string =>
    formatUsage(
      {
        commandPath: joinPath(parentPath, definition.name),
        summary: definition.summary,
        details: definition.details,
        examples: definition.examples,
      },
      definition.arguments,
    );
  return {
    name: definition.name,
    summary: definition.summary,
    usage,
    async execute(argv, io, parentPath) {
      const commandPath = joinPath(parentPath, definition.name);
      const reportArgumentError = (error: ArgumentError): number => {
        const usageLine = formatUsageLine(commandPath, definition.arguments);
        io.stderr.write(`${commandPath}: ${error.message}\n${formatUsageHint(usageLine, commandPath)}`);
        return EXIT_USAGE;
      };
      let input: CommandInput<S>;
      try {
        const parsed = parseArguments(argv, definition.arguments, io.env);
        if (parsed.help) {
          io.stdout.write(usage(parentPath));
          return EXIT_OK;
        }
        input = parsed;
      } catch (error) {
        if (!(error instanceof ArgumentError)) throw error;
        return reportArgumentError(error);
      }
      try {
        return await definition.run(input, io);
      } catch (error) {
        // Some argument problems show only once options are combined, after parsing; they still earn the usage.
        if (error instanceof ArgumentError) return reportArgumentError(error);
        return reportFailure(error, commandPath, io);
      }
    },
  };
}

export interface CommandGroupDefinition {
  readonly name: string;
  readonly summary: string;
  readonly commands: readonly Command[];
  /** Printed by `--version`; only the top-level group has one. */
  readonly version?: string;
}

export function defineCommandGroup(definition: CommandGroupDefinition): Command {
  const usage = (parentPath: string): string => {
    const path = joinPath(parentPath, definition.name);
    const width = Math.max(...definition.commands.map((command) => command.name.length));
    const lines = [
      `Usage: ${path} <command> [options]`,
      "",
      definition.summary,
      "",
      "Commands:",
      ...definition.commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
      "",
      `Run \`${path} <command> --help\` for a command's options.`,
    ];
    return lines.join("\n") + "\n";
  };
  return {
    name: definition.name,
    summary: definition.summary,
    usage,
    async execute(argv, io, parentPath) {
      const path = joinPath(parentPath, definition.name);
      const [first, ...rest] = argv;
      if (first === undefined) {
        io.stderr.write(`${path}: missing command\n\n${usage(parentPath)}`);
        return EXIT_USAGE;
      }
      if (first === "--help" || first === "-h" || first === "help") {
        io.stdout.write(usage(parentPath));
        return EXIT_OK;
      }
      if (first === "--version" && definition.version !== undefined) {
        io.stdout.write(`${definition.version}\n`);
        return EXIT_OK;
      }
      const command = definition.commands.find((candidate) => candidate.name === first);
      if (command === undefined) {
        const names = definition.commands.map((candidate) => candidate.name);
        const closest = first.startsWith("-") ? null : closestName(first, names);
        const advice = closest === null ? "" : ` (did you mean "${closest}"?)`;
        const what = first.startsWith("-") ? `unknown option ${first}` : `unknown command "${first}"${advice}`;
        io.stderr.write(`${path}: ${what}\n\n${usage(parentPath)}`);
        return EXIT_USAGE;
      }
      return command.execute(rest, io, path);
    },
  };
}
