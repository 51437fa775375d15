// The topic configs Sluice understands, their broker-level defaults and their validation. Anything not listed here
// is refused with INVALID_CONFIG so that a typo never silently does nothing.

import type { BrokerConfig } from "./config.js";

export type ConfigSource = "default" | "topic";

export interface TopicConfigDefinition {
  readonly name: string;
  readonly type: "string" | "long" | "int" | "boolean";
  readonly defaultValue: (config: BrokerConfig) => string;
  /** Returns an error message for a value that is not acceptable, or null. */
  readonly validate: (value: string) => string | null;
  readonly readOnly?: boolean;
}

const LONG = /^-?\d+$/;

function longAtLeast(min: number): (value: string) => string | null {
  return (value) => (LONG.test(value) && Number(value) >= min ? null : `must be an integer ≥ ${min}`);
}

function oneOf(...allowed: string[]): (value: string) => string | null {
  return (value) => (allowed.includes(value) ? null : `must be one of ${allowed.join(", ")}`);
}

const DEFINITIONS: readonly TopicConfigDefinition[] = [
  {
    name: "cleanup.policy",
    type: "string",
    defaultValue: () => "delete",
    validate: (value) =>
      value === "delete"
        ? null
        : value.split(",").includes("compact")
          ? "compaction is not supported by Sluice yet; use delete"
          : "must be delete",
  },
  { name: "retention.ms", type: "long", defaultValue: (c) => String(c.retentionMs), validate: longAtLeast(-1) },
  { name: "retention.bytes", type: "long", defaultValue: (c) => String(c.retentionBytes), validate: longAtLeast(-1) },
  { name: "segment.bytes", type: "int", defaultValue: (c) => String(c.segmentBytesMax), validate: longAtLeast(14) },
  { name: "segment.ms", type: "long", defaultValue: (c) => String(c.segmentMs), validate: longAtLeast(1) },
  { name: "max.message.bytes", type: "int", defaultValue: (c) => String(c.messageBytesMax), validate: longAtLeast(0) },
  {
    name: "message.timestamp.type",
    type: "string",
    defaultValue: () => "CreateTime",
    validate: oneOf("CreateTime", "LogAppendTime"),
  },
  { name: "compression.type", type: "string", defaultValue: () => "producer", validate: oneOf("producer") },
  // A single node has one replica, so only the values that single node can honour are accepted.
  { name: "min.insync.replicas", type: "int", defaultValue: () => "1", validate: oneOf("1") },
];

export const TOPIC_CONFIGS: ReadonlyMap<string, TopicConfigDefinition> = new Map(DEFINITIONS.map((d) => [d.name, d]));

/** Checks one config; returns an error message naming the problem, or null when it is acceptable. */
export function validateTopicConfig(name: string, value: string | null): string | null {
  const definition = TOPIC_CONFIGS.get(name);
  if (definition === undefined)
    return `unknown topic config ${name}; supported: ${[...TOPIC_CONFIGS.keys()].join(", ")}`;
  if (value === null) return `${name} needs a value`;
  const problem = definition.validate(value);
  return problem === null ? null : `${name}=${value}: ${problem}`;
}

export interface EffectiveConfig {
  name: string;
  value: string;
  source: ConfigSource;
  definition: TopicConfigDefinition;
}

export function effectiveTopicConfigs(overrides: ReadonlyMap<string, string>, config: BrokerConfig): EffectiveConfig[] {
  return DEFINITIONS.map((definition) => {
    const override = overrides.get(definition.name);
    return override === undefined
      ? { name: definition.name, value: definition.defaultValue(config), source: "default", definition }
      : { name: definition.name, value: override, source: "topic", definition };
  });
}

export function topicConfigValue(overrides: ReadonlyMap<string, string>, name: string, config: BrokerConfig): string {
  return overrides.get(name) ?? TOPIC_CONFIGS.get(name)!.defaultValue(config);
}
