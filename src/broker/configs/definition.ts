// What a config is, as data: its Kafka name, type, default, validator and documentation. Topic and broker configs
// are declared once in tables (topic-configs.ts, broker-configs.ts) of these; DescribeConfigs, AlterConfigs,
// CreateTopics and docs/broker-configs.md all read the same tables.

export type ConfigType = "boolean" | "string" | "int" | "short" | "long" | "double" | "list" | "class" | "password";

/** The rule a value must meet besides parsing as its type; the messages follow Kafka's validators. */
export type ConfigValidator =
  | { readonly kind: "none" }
  | { readonly kind: "range"; readonly min?: string; readonly max?: string }
  /** A range, or exactly one value outside it (Kafka's gzip level: 1–9 or -1). */
  | { readonly kind: "range-or"; readonly min: string; readonly max: string; readonly or: string }
  | { readonly kind: "one-of"; readonly values: readonly string[] }
  /** Every item of a comma-separated list is one of these. */
  | { readonly kind: "list-of"; readonly values: readonly string[] }
  /** Items look like partition:broker, or the single value "*". */
  | { readonly kind: "throttled-replicas" };

export interface ConfigDefinition {
  readonly name: string;
  readonly type: ConfigType;
  /** Kafka's default, as DescribeConfigs shows it; null where Kafka has none. */
  readonly defaultValue: string | null;
  readonly validator: ConfigValidator;
  readonly documentation: string;
}

/** A broker config a topic config falls back to; `factor` converts its unit (hours to ms, say) into the topic's. */
export interface BrokerSynonym {
  readonly name: string;
  readonly factor?: number;
}

export interface TopicConfigDefinition extends ConfigDefinition {
  /** The broker configs that give this config's value when the topic has no override, most specific first. */
  readonly brokerSynonyms: readonly BrokerSynonym[];
  /** How Sluice honours the config, where that differs from what Kafka does. */
  readonly sluiceNote?: string;
}

/** Whether AlterConfigs may change a broker config, and for which resource: Kafka's "update mode". */
export type BrokerConfigUpdateMode = "read-only" | "per-broker" | "cluster-wide";

export interface BrokerConfigDefinition extends ConfigDefinition {
  readonly updateMode: BrokerConfigUpdateMode;
  readonly sensitive?: boolean;
  readonly sluiceNote?: string;
}

const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;
const SHORT_MIN = -(2n ** 15n);
const SHORT_MAX = 2n ** 15n - 1n;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const INTEGER = /^[+-]?\d+$/;
const DOUBLE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function integerProblem(value: string, min: bigint, max: bigint, typeName: string): string | null {
  if (!INTEGER.test(value.trim())) return `Not a number of type ${typeName}`;
  const number = BigInt(value.trim());
  return number < min || number > max ? `Not a number of type ${typeName}` : null;
}

function typeProblem(type: ConfigType, value: string): string | null {
  switch (type) {
    case "boolean":
      return /^(true|false)$/i.test(value.trim()) ? null : "Expected value to be either true or false";
    case "int":
      return integerProblem(value, INT_MIN, INT_MAX, "INT");
    case "short":
      return integerProblem(value, SHORT_MIN, SHORT_MAX, "SHORT");
    case "long":
      return integerProblem(value, LONG_MIN, LONG_MAX, "LONG");
    case "double":
      return DOUBLE.test(value.trim()) ? null : "Not a number of type DOUBLE";
    default:
      return null;
  }
}

function compare(type: ConfigType, left: string, right: string): number {
  if (type === "double") return Number(left) - Number(right);
  const difference = BigInt(left.trim()) - BigInt(right.trim());
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

/** The items of a list config, trimmed, without empty ones. */
export function listItems(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function validatorProblem(definition: ConfigDefinition, value: string): string | null {
  const { validator, type } = definition;
  switch (validator.kind) {
    case "none":
      return null;
    case "range": {
      if (validator.min !== undefined && compare(type, value, validator.min) < 0) {
        return `Value must be at least ${validator.min}`;
      }
      if (validator.max !== undefined && compare(type, value, validator.max) > 0) {
        return `Value must be no more than ${validator.max}`;
      }
      return null;
    }
    case "range-or":
      if (compare(type, value, validator.or) === 0) return null;
      return compare(type, value, validator.min) < 0 || compare(type, value, validator.max) > 0
        ? `Value must be between ${validator.min} and ${validator.max}, or ${validator.or}`
        : null;
    case "one-of":
      return validator.values.includes(value) ? null : `String must be one of: ${validator.values.join(", ")}`;
    case "list-of": {
      const bad = listItems(value).filter((item) => !validator.values.includes(item));
      return bad.length === 0 ? null : `String must be one of: ${validator.values.join(", ")}`;
    }
    case "throttled-replicas": {
      const items = listItems(value);
      if (items.length === 1 && items[0] === "*") return null;
      return items.every((item) => /^\d+:\d+$/.test(item))
        ? null
        : "must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],...";
    }
  }
}

/** Kafka's message for a value that does not parse or does not validate, or null when the value is good. */
export function configValueProblem(definition: ConfigDefinition, value: string): string | null {
  const problem = typeProblem(definition.type, value) ?? validatorProblem(definition, value);
  return problem === null ? null : `Invalid value ${value} for configuration ${definition.name}: ${problem}`;
}

/** Kafka's ConfigEntry.ConfigType codes, as DescribeConfigs v3+ reports them. */
export const CONFIG_TYPE_CODES: Readonly<Record<ConfigType, number>> = {
  boolean: 1,
  string: 2,
  int: 3,
  short: 4,
  long: 5,
  double: 6,
  list: 7,
  class: 8,
  password: 9,
};

/** Kafka's DescribeConfigsResponse config source codes. */
export const ConfigSourceCode = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;

/** Kafka's ConfigResource.Type codes. */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

export const LONG_MAX_TEXT = LONG_MAX.toString();
export const INT_MAX_TEXT = INT_MAX.toString();
