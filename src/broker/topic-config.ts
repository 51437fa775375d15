// Checking topic configs against the table in configs/topic-configs.ts, with Kafka's error messages, and reading a
// topic's effective values through the broker's settings (override, dynamic broker config, flag, default).

import { configValueProblem, listItems } from "./configs/definition.js";
import type { BrokerSettings, ResolvedConfig } from "./configs/settings.js";
import { TOPIC_CONFIG_DEFINITIONS, TOPIC_CONFIGS } from "./configs/topic-configs.js";
import type { TopicConfigDefinition } from "./configs/definition.js";

export { TOPIC_CONFIGS };
export type { TopicConfigDefinition };

/** Checks one config; returns Kafka's message naming the problem, or null when it is acceptable. */
export function validateTopicConfig(name: string, value: string | null): string | null {
  const definition = TOPIC_CONFIGS.get(name);
  if (definition === undefined) return `Unknown topic config name: ${name}`;
  if (value === null) return `Null value not supported for topic configs: ${name}`;
  return configValueProblem(definition, value);
}

export interface EffectiveConfig extends ResolvedConfig {
  name: string;
  value: string;
  definition: TopicConfigDefinition;
}

/** Every topic config with its effective value and source, in the table's (alphabetical) order. */
export function effectiveTopicConfigs(
  overrides: ReadonlyMap<string, string>,
  settings: BrokerSettings,
): EffectiveConfig[] {
  return TOPIC_CONFIG_DEFINITIONS.map((definition) => {
    const resolved = settings.topic(overrides, definition.name);
    return { ...resolved, name: definition.name, value: resolved.value ?? "", definition };
  });
}

export function topicConfigValue(
  overrides: ReadonlyMap<string, string>,
  name: string,
  settings: BrokerSettings,
): string {
  return settings.topicValue(overrides, name);
}

/** Whether the topic's cleanup.policy includes deletion by retention (a compact-only topic keeps its records). */
export function deletesByRetention(overrides: ReadonlyMap<string, string>, settings: BrokerSettings): boolean {
  return listItems(settings.topicValue(overrides, "cleanup.policy")).includes("delete");
}

/** Whether the topic's cleanup.policy includes compaction (keep the latest record of every key). */
export function compacts(overrides: ReadonlyMap<string, string>, settings: BrokerSettings): boolean {
  return listItems(settings.topicValue(overrides, "cleanup.policy")).includes("compact");
}
