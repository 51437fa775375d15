// Renders a command's help text from the same specs the parser reads, so the two never disagree.

import { optionEnvName, optionFlagName, type ArgumentsSpec, type OptionSpec, type OptionSpecs } from "./args.js";

export interface UsageInfo {
  /** The words that run the command, e.g. "sluice topics create". */
  readonly commandPath: string;
  readonly summary: string;
  /** Paragraphs printed after the summary. */
  readonly details?: readonly string[];
  readonly examples?: readonly string[];
}

function optionSignature(key: string, option: OptionSpec): string {
  const flag = `--${optionFlagName(key)}`;
  if (option.kind === "flag") return option.defaultValue ? `--no-${optionFlagName(key)}` : flag;
  return `${flag} <${option.valueName}>`;
}

function optionNotes(key: string, option: OptionSpec, envPrefix: string | undefined): string {
  const notes: string[] = [];
  if (option.kind === "list") notes.push("repeatable");
  if (option.kind === "value" && option.defaultLabel !== undefined) notes.push(`default ${option.defaultLabel}`);
  const envName = optionEnvName(key, option, envPrefix);
  if (envName !== null) notes.push(`env ${envName}`);
  return notes.length === 0 ? "" : ` (${notes.join("; ")})`;
}

/** Help text is wrapped to this width so it reads well in an ordinary terminal. */
export const USAGE_WIDTH = 100;
const LEFT_COLUMN_WIDTH_MAX = 30;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((part) => part !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

function twoColumns(rows: readonly (readonly [string, string])[]): string[] {
  const fitting = rows.map(([left]) => left.length).filter((length) => length <= LEFT_COLUMN_WIDTH_MAX);
  const leftWidth = Math.max(0, ...fitting);
  const indent = " ".repeat(2 + leftWidth + 2);
  const rightWidth = Math.max(20, USAGE_WIDTH - indent.length);
  return rows.flatMap(([left, right]) => {
    const rightLines = wrap(right, rightWidth);
    // A signature too long for the column gets a line of its own, with the description below it.
    const head = left.length > leftWidth ? [`  ${left}`] : [];
    const first = left.length > leftWidth ? indent : `  ${left.padEnd(leftWidth)}  `;
    return [...head, ...rightLines.map((line, index) => (index === 0 ? first : indent) + line)];
  });
}

/** The one line that shows how a command is called, e.g. "Usage: sluice topics create <topic> [options]". */
export function formatUsageLine<S extends OptionSpecs>(commandPath: string, spec: ArgumentsSpec<S>): string {
  const positionalWords = spec.positionals.map((positional) =>
    positional.required ? `<${positional.name}>` : `[${positional.name}]`,
  );
  return `Usage: ${[commandPath, ...positionalWords, "[options]"].join(" ")}`;
}

/**
 * What follows an argument error: the usage line and where the full help is, so that the error itself stays on
 * screen rather than scrolling away above the whole help text.
 */
export function formatUsageHint(usageLine: string, commandPath: string): string {
  return `${usageLine}\nRun \`${commandPath} --help\` to see every option.\n`;
}

export function formatUsage<S extends OptionSpecs>(info: UsageInfo, spec: ArgumentsSpec<S>): string {
  const lines = [formatUsageLine(info.commandPath, spec), "", info.summary];
  for (const paragraph of info.details ?? []) lines.push("", ...wrap(paragraph, USAGE_WIDTH));
  if (spec.positionals.length > 0) {
    lines.push("", "Arguments:");
    lines.push(...twoColumns(spec.positionals.map((positional) => [`<${positional.name}>`, positional.description])));
  }
  const optionRows: [string, string][] = Object.entries(spec.options).map(([key, option]) => [
    optionSignature(key, option),
    option.description + optionNotes(key, option, spec.envPrefix),
  ]);
  optionRows.push(["-h, --help", "Show this help"]);
  lines.push("", "Options:", ...twoColumns(optionRows));
  if (info.examples !== undefined && info.examples.length > 0) {
    lines.push("", "Examples:", ...info.examples.map((example) => `  ${example}`));
  }
  return lines.join("\n") + "\n";
}
