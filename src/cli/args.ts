// The command-line argument parser: typed option specs, `--name value`, `--name=value`, flags with `--no-name`,
// repeatable list options, a `--` separator, and environment variables as a fallback for command-line values.
// Every malformed input raises an ArgumentError whose message names the option and what was wrong.

/** A problem with what the user typed; the caller prints it with the command's usage and exits 2. */
export class ArgumentError extends Error {
  override readonly name = "ArgumentError";
}

interface CommonSpec {
  readonly description: string;
  /** The environment variable read when the option is not on the command line; false reads none. */
  readonly env?: string | false;
}

export interface ValueOptionSpec<T> extends CommonSpec {
  readonly kind: "value";
  /** Shown in usage as `--name <valueName>`. */
  readonly valueName: string;
  readonly parse: (raw: string) => T;
  readonly defaultValue: T;
  /** How the default is shown in usage; omitted when there is no default worth showing. */
  readonly defaultLabel?: string;
}

export interface FlagOptionSpec extends CommonSpec {
  readonly kind: "flag";
  readonly defaultValue: boolean;
}

export interface ListOptionSpec<T> extends CommonSpec {
  readonly kind: "list";
  readonly valueName: string;
  readonly parse: (raw: string) => T;
  /** The most values accepted, so that a runaway script cannot grow the list without bound. */
  readonly countMax: number;
}

export type OptionSpec = ValueOptionSpec<unknown> | FlagOptionSpec | ListOptionSpec<unknown>;
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export type OptionValues<S extends OptionSpecs> = {
  -readonly [K in keyof S]: S[K] extends ValueOptionSpec<infer T>
    ? T
    : S[K] extends FlagOptionSpec
      ? boolean
      : S[K] extends ListOptionSpec<infer T>
        ? T[]
        : never;
};

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  readonly required: boolean;
}

export interface ArgumentsSpec<S extends OptionSpecs> {
  readonly options: S;
  readonly positionals: readonly PositionalSpec[];
  /** When set, every option without an explicit `env` reads `<envPrefix><NAME_IN_UPPER_SNAKE_CASE>`. */
  readonly envPrefix?: string;
}

export type ParsedArguments<S extends OptionSpecs> =
  { readonly help: true } | { readonly help: false; readonly options: OptionValues<S>; readonly positionals: string[] };

export type Environment = Readonly<Record<string, string | undefined>>;

export const LIST_COUNT_MAX = 1000;

/** `messageMaxBytes` → `message-max-bytes`, the spelling used on the command line. */
export function optionFlagName(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** The environment variable an option reads, or null when it reads none. */
export function optionEnvName(key: string, spec: OptionSpec, envPrefix: string | undefined): string | null {
  if (spec.env === false) return null;
  if (spec.env !== undefined) return spec.env;
  if (envPrefix === undefined || spec.kind === "list") return null;
  return envPrefix + optionFlagName(key).replace(/-/g, "_").toUpperCase();
}

function parseBoolean(raw: string): boolean | null {
  const normalized = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(normalized)) return true;
  if (["false", "0", "no", "off"].includes(normalized)) return false;
  return null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The candidate nearest to `word` when it is near enough to be a likely typo, else null. */
export function closestName(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function suggestion(flag: string, knownFlags: readonly string[]): string {
  const closest = closestName(flag, knownFlags);
  return closest !== null ? ` (did you mean --${closest}?)` : "; see --help for the options";
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function parseWith<T>(spec: { parse: (raw: string) => T }, raw: string, where: string): T {
  try {
    return spec.parse(raw);
  } catch (error) {
    throw new ArgumentError(`invalid value for ${where}: ${describeFailure(error)}`);
  }
}

function isHelp(arg: string): boolean {
  return arg === "--help" || arg === "-h";
}

export function parseArguments<S extends OptionSpecs>(
  argv: readonly string[],
  spec: ArgumentsSpec<S>,
  env: Environment = {},
): ParsedArguments<S> {
  const separatorIndex = argv.indexOf("--");
  try {
    return parseOrThrow(argv, separatorIndex, spec, env);
  } catch (error) {
    // A request for help wins over a mistake made earlier on the same command line.
    const beforeSeparator = separatorIndex === -1 ? argv : argv.slice(0, separatorIndex);
    if (error instanceof ArgumentError && beforeSeparator.some(isHelp)) return { help: true };
    throw error;
  }
}

function parseOrThrow<S extends OptionSpecs>(
  argv: readonly string[],
  separatorIndex: number,
  spec: ArgumentsSpec<S>,
  env: Environment,
): ParsedArguments<S> {
  const keyByFlag = new Map<string, string>();
  for (const key of Object.keys(spec.options)) keyByFlag.set(optionFlagName(key), key);
  const knownFlags = [...keyByFlag.keys()];

  const values = new Map<string, unknown>();
  const lists = new Map<string, unknown[]>();
  const positionals: string[] = [];

  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (index === separatorIndex) {
      positionals.push(...argv.slice(index + 1));
      break;
    }
    if (isHelp(arg)) return { help: true };
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith("--")) throw new ArgumentError(`unknown option ${arg}; options start with -- (see --help)`);

    const equalsIndex = arg.indexOf("=");
    const flag = equalsIndex === -1 ? arg.slice(2) : arg.slice(2, equalsIndex);
    const inlineValue = equalsIndex === -1 ? null : arg.slice(equalsIndex + 1);
    let key = keyByFlag.get(flag);
    let negated = false;
    if (key === undefined && flag.startsWith("no-")) {
      const positiveKey = keyByFlag.get(flag.slice(3));
      if (positiveKey !== undefined && spec.options[positiveKey]!.kind === "flag") {
        key = positiveKey;
        negated = true;
      }
    }
    if (key === undefined) throw new ArgumentError(`unknown option --${flag}${suggestion(flag, knownFlags)}`);
    const option = spec.options[key]!;

    if (option.kind === "flag") {
      if (values.has(key)) throw new ArgumentError(`option --${optionFlagName(key)} was given more than once`);
      if (negated && inlineValue !== null) throw new ArgumentError(`option --${flag} takes no value`);
      let value = !negated;
      if (inlineValue !== null) {
        const parsed = parseBoolean(inlineValue);
        if (parsed === null) throw new ArgumentError(`option --${flag} takes true or false, not "${inlineValue}"`);
        value = parsed;
      }
      values.set(key, value);
      continue;
    }

    let raw = inlineValue;
    if (raw === null) {
      // A value option takes the next argument whatever it looks like, so that `--acks -1` works.
      if (index + 1 >= argv.length || index + 1 === separatorIndex) {
        throw new ArgumentError(`option --${flag} needs a value: --${flag} <${option.valueName}>`);
      }
      raw = argv[++index]!;
    }
    if (option.kind === "list") {
      const list = lists.get(key) ?? [];
      if (list.length >= option.countMax) {
        throw new ArgumentError(`option --${flag} was given more than ${option.countMax} times`);
      }
      list.push(parseWith(option, raw, `--${flag}`));
      lists.set(key, list);
    } else {
      if (values.has(key)) {
        throw new ArgumentError(`option --${flag} was given more than once; give it once`);
      }
      values.set(key, parseWith(option, raw, `--${flag}`));
    }
  }

  const result: Record<string, unknown> = {};
  for (const [key, option] of Object.entries(spec.options)) {
    if (option.kind === "list") {
      result[key] = lists.get(key) ?? [];
      continue;
    }
    if (values.has(key)) {
      result[key] = values.get(key);
      continue;
    }
    const envName = optionEnvName(key, option, spec.envPrefix);
    const envValue = envName === null ? undefined : env[envName];
    if (envName !== null && envValue !== undefined && envValue !== "") {
      const where = `--${optionFlagName(key)} from ${envName}`;
      if (option.kind === "flag") {
        const parsed = parseBoolean(envValue);
        if (parsed === null)
          throw new ArgumentError(`invalid value for ${where}: expected true or false, not "${envValue}"`);
        result[key] = parsed;
      } else {
        result[key] = parseWith(option, envValue, where);
      }
      continue;
    }
    result[key] = option.defaultValue;
  }

  const required = spec.positionals.filter((positional) => positional.required);
  if (positionals.length < required.length) {
    const missing = required.slice(positionals.length).map((positional) => `<${positional.name}>`);
    throw new ArgumentError(`missing ${missing.join(" ")}`);
  }
  if (positionals.length > spec.positionals.length) {
    const extra = positionals[spec.positionals.length]!;
    throw new ArgumentError(`unexpected argument "${extra}"`);
  }
  return { help: false, options: result as OptionValues<S>, positionals };
}

// Builders for option specs. Each returns a spec whose type carries the parsed value's type, so that
// `parseArguments` hands back correctly typed options without casts at the call site.

interface StringConfig extends CommonSpec {
  readonly valueName?: string;
}

export function stringOption(config: StringConfig & { default: string }): ValueOptionSpec<string>;
export function stringOption(config: StringConfig & { default?: undefined }): ValueOptionSpec<string | undefined>;
export function stringOption(config: StringConfig & { default?: string }): ValueOptionSpec<string | undefined> {
  return {
    kind: "value",
    description: config.description,
    env: config.env,
    valueName: config.valueName ?? "value",
    parse: (raw) => raw,
    defaultValue: config.default,
    defaultLabel: config.default,
  };
}

interface IntegerConfig extends CommonSpec {
  readonly valueName?: string;
  readonly min?: number;
  readonly max?: number;
}

export function parseInteger(raw: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^[-+]?\d+$/.test(raw.trim())) throw new Error(`"${raw}" is not an integer`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`"${raw}" is too large`);
  if (value < min) throw new Error(`${value} is below the minimum ${min}`);
  if (value > max) throw new Error(`${value} is above the maximum ${max}`);
  return value;
}

export function integerOption(config: IntegerConfig & { default: number }): ValueOptionSpec<number>;
export function integerOption(config: IntegerConfig & { default?: undefined }): ValueOptionSpec<number | undefined>;
export function integerOption(config: IntegerConfig & { default?: number }): ValueOptionSpec<number | undefined> {
  return {
    kind: "value",
    description: config.description,
    env: config.env,
    valueName: config.valueName ?? "N",
    parse: (raw) => parseInteger(raw, config.min, config.max),
    defaultValue: config.default,
    defaultLabel: config.default === undefined ? undefined : String(config.default),
  };
}

interface ChoiceConfig<C extends string> extends CommonSpec {
  readonly choices: readonly C[];
}

export function choiceOption<C extends string>(config: ChoiceConfig<C> & { default: C }): ValueOptionSpec<C>;
export function choiceOption<C extends string>(
  config: ChoiceConfig<C> & { default?: undefined },
): ValueOptionSpec<C | undefined>;
export function choiceOption<C extends string>(
  config: ChoiceConfig<C> & { default?: C },
): ValueOptionSpec<C | undefined> {
  return {
    kind: "value",
    description: config.description,
    env: config.env,
    valueName: config.choices.join("|"),
    parse: (raw) => {
      const choice = config.choices.find((candidate) => candidate === raw);
      if (choice === undefined) throw new Error(`"${raw}" is not one of ${config.choices.join(", ")}`);
      return choice;
    },
    defaultValue: config.default,
    defaultLabel: config.default,
  };
}

export function flagOption(config: CommonSpec & { default?: boolean }): FlagOptionSpec {
  return { kind: "flag", description: config.description, env: config.env, defaultValue: config.default ?? false };
}

/** An option whose text is turned into a value by `parse`, which throws an Error explaining a bad value. */
export function customOption<T>(
  config: CommonSpec & { valueName: string; parse: (raw: string) => T; default: T; defaultLabel?: string },
): ValueOptionSpec<T> {
  return {
    kind: "value",
    description: config.description,
    env: config.env,
    valueName: config.valueName,
    parse: config.parse,
    defaultValue: config.default,
    defaultLabel: config.defaultLabel,
  };
}

export function listOption<T>(
  config: CommonSpec & { valueName: string; parse: (raw: string) => T; countMax?: number },
): ListOptionSpec<T>;
export function listOption(config: CommonSpec & { valueName: string; countMax?: number }): ListOptionSpec<string>;
export function listOption<T>(
  config: CommonSpec & { valueName: string; parse?: (raw: string) => T; countMax?: number },
): ListOptionSpec<T | string> {
  return {
    kind: "list",
    description: config.description,
    env: config.env,
    valueName: config.valueName,
    parse: config.parse ?? ((raw: string) => raw),
    countMax: config.countMax ?? LIST_COUNT_MAX,
  };
}
