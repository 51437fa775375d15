// Integer options declared once, as TypeBox schemas (default and inclusive range), and resolved by one checker that
// every layer shares: an absent value takes the default, anything else must be an integer in range. Each layer
// passes its own error constructor, so that a bad option is reported in that layer's catalogue.

import { Type, type TInteger } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

/** Builds a layer's error for a bad option: the field it names and what is wrong. */
export type OptionError = (field: string, message: string) => Error;

/** Declares an integer option with its default and the inclusive range it accepts. */
export function integerOption(defaultValue: number, minimum: number, maximum: number): TInteger {
  return Type.Integer({ default: defaultValue, minimum, maximum });
}

/** A bad value as the message shows it: a string in quotes, so that "80" is told apart from 80. */
function describeValue(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** The value given for one declared option, or its default; throws the layer's error when it is out of range. */
export function resolveInteger(field: string, value: unknown, declared: TInteger, fail: OptionError): number {
  if (value === undefined) return declared.default as number;
  if (!Value.Check(declared, value)) {
    throw fail(
      field,
      `must be an integer from ${declared.minimum} to ${declared.maximum}, got ${describeValue(value)}`,
    );
  }
  return value as number;
}

/** Resolves every declared option from the values given (absent ones take their defaults). */
export function resolveIntegers<D extends Record<string, TInteger>>(
  declared: D,
  given: { readonly [K in keyof D]?: number | undefined },
  fail: OptionError,
): { [K in keyof D]: number } {
  const resolved = {} as { [K in keyof D]: number };
  for (const field of Object.keys(declared) as Array<keyof D & string>) {
    resolved[field] = resolveInteger(field, given[field], declared[field], fail);
  }
  return resolved;
}
