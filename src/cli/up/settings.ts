// The settings of `sluice up`, each declared once: how it reads from a flag or an environment variable (text), how
// it reads from the config file (JSON), its default, and the checks that name it when a value is wrong.

import { integerOption, resolveInteger } from "../../platform/options.js";
import { customOption, parseInteger, type ValueOptionSpec } from "../args.js";

export interface Setting<T> {
  readonly description: string;
  readonly valueName: string;
  /** The environment variable, when it is not SLUICE_<SETTING_NAME>. */
  readonly env?: string;
  readonly defaultValue: T;
  readonly defaultLabel?: string;
  /** Reads a flag's or an environment variable's text; throws an Error saying what is wrong. */
  parse(raw: string): T;
  /** Reads the config file's JSON value; throws an Error saying what is wrong. */
  fromJson(value: unknown): T;
}

export type SettingValue<S> = S extends Setting<infer T> ? T : never;

/** The command-line option of a setting: undefined when absent, so that the config file can fill it in. */
export function optionOf<T>(setting: Setting<T>): ValueOptionSpec<T | undefined> {
  return customOption<T | undefined>({
    description: setting.description,
    valueName: setting.valueName,
    env: setting.env,
    parse: (raw) => setting.parse(raw),
    default: undefined,
    defaultLabel: setting.defaultLabel,
  });
}

function describeJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length <= 60 ? text : `${text.slice(0, 59)}…`;
}

export function integerSetting(config: {
  description: string;
  min: number;
  max: number;
  default: number;
  env?: string;
  valueName?: string;
}): Setting<number> {
  const declared = integerOption(config.default, config.min, config.max);
  return {
    description: config.description,
    valueName: config.valueName ?? "N",
    env: config.env,
    defaultValue: config.default,
    defaultLabel: String(config.default),
    parse: (raw) => parseInteger(raw, config.min, config.max),
    // A value the file holds is never undefined, which the resolver would take for the default: null stands in.
    fromJson: (value) => resolveInteger("", value ?? null, declared, (_field, message) => new Error(message)),
  };
}

export function choiceSetting<C extends string>(config: {
  description: string;
  choices: readonly C[];
  default: C;
  env?: string;
}): Setting<C> {
  const read = (value: unknown): C => {
    const choice = config.choices.find((candidate) => candidate === value);
    if (choice === undefined) {
      throw new Error(`must be one of ${config.choices.join(", ")}, got ${describeJson(value)}`);
    }
    return choice;
  };
  return {
    description: config.description,
    valueName: config.choices.join("|"),
    env: config.env,
    defaultValue: config.default,
    defaultLabel: config.default,
    parse: read,
    fromJson: read,
  };
}

/** A text setting checked by `check`, which throws an Error explaining a bad value. */
export function textSetting<T extends string | null>(config: {
  description: string;
  valueName: string;
  default: T;
  defaultLabel?: string;
  env?: string;
  check?: (text: string) => void;
}): Setting<string | T> {
  const read = (value: unknown): string => {
    if (typeof value !== "string") throw new Error(`must be a string, got ${describeJson(value)}`);
    config.check?.(value);
    return value;
  };
  return {
    description: config.description,
    valueName: config.valueName,
    env: config.env,
    defaultValue: config.default,
    defaultLabel: config.defaultLabel ?? (config.default === null ? undefined : config.default),
    parse: read,
    fromJson: read,
  };
}

/** A comma-separated list in text, or a JSON array of strings (or one comma-separated string) in the file. */
export function listSetting<T>(config: {
  description: string;
  valueName: string;
  default: T;
  defaultLabel?: string;
  env?: string;
  parseList: (entries: readonly string[]) => T;
}): Setting<T> {
  const fromText = (raw: string): T =>
    config.parseList(
      raw
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ""),
    );
  return {
    description: config.description,
    valueName: config.valueName,
    env: config.env,
    defaultValue: config.default,
    defaultLabel: config.defaultLabel,
    parse: fromText,
    fromJson: (value) => {
      if (typeof value === "string") return fromText(value);
      if (!Array.isArray(value) || value.some((entry) => typeof entry !== "string")) {
        throw new Error(`must be a list of strings, got ${describeJson(value)}`);
      }
      return config.parseList(value as string[]);
    },
  };
}
