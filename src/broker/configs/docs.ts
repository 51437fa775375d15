// Renders docs/broker-configs.md from the config tables, so that the documentation and what DescribeConfigs
// answers cannot drift apart (test/docs/broker-configs.test.ts checks the file is current).

import { BROKER_CONFIG_DEFINITIONS } from "./broker-configs.js";
import type { ConfigDefinition, ConfigValidator } from "./definition.js";
import { TOPIC_CONFIG_DEFINITIONS } from "./topic-configs.js";

function validatorText(validator: ConfigValidator): string {
  switch (validator.kind) {
    case "none":
      return "";
    case "range":
      if (validator.min !== undefined && validator.max !== undefined) return `${validator.min} to ${validator.max}`;
      return validator.min !== undefined ? `≥ ${validator.min}` : `≤ ${validator.max ?? ""}`;
    case "range-or":
      return `${validator.min} to ${validator.max}, or ${validator.or}`;
    case "one-of":
      return `one of ${validator.values.join(", ")}`;
    case "list-of":
      return `list of ${validator.values.join(", ")}`;
    case "throttled-replicas":
      return "partition:broker list, or *";
  }
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

function row(definition: ConfigDefinition, extra: string[], note: string | undefined): string {
  const { defaultValue } = definition;
  const defaultText = defaultValue === null ? "null" : defaultValue === "" ? '`""`' : `\`${defaultValue}\``;
  const columns = [
    `\`${definition.name}\``,
    definition.type,
    defaultText,
    validatorText(definition.validator),
    ...extra,
    definition.documentation + (note === undefined ? "" : ` *Sluice:* ${note}`),
  ];
  return `| ${columns.map(cell).join(" | ")} |`;
}

export function renderConfigDocs(): string {
  const lines = [
    "# Topic and broker configs",
    "",
    "<!-- Generated from src/broker/configs/ by `npm run gen:config-docs`; do not edit by hand. -->",
    "",
    "Sluice answers DescribeConfigs, AlterConfigs, IncrementalAlterConfigs and CreateTopics with Kafka 3.9's config",
    "names, types, defaults and validators. Every value Kafka would accept is accepted and stored; where Sluice does",
    "not act on a value the way Kafka does, the description says so after *Sluice:*.",
    "",
    "## Topic configs",
    "",
    "A topic's value comes from its override, else from the first broker config in the last column that is set",
    "(dynamically for this broker, dynamically for the cluster, or by a flag), else from the default.",
    "",
    "| name | type | default | valid values | broker configs behind it | description |",
    "|---|---|---|---|---|---|",
    ...TOPIC_CONFIG_DEFINITIONS.map((definition) =>
      row(definition, [definition.brokerSynonyms.map((synonym) => synonym.name).join(", ")], definition.sluiceNote),
    ),
    "",
    "## Broker configs",
    "",
    'Resource type 4, named by the broker\'s id (`--node-id`), or `""` for the cluster-wide default. The',
    "`cluster-wide` ones may be changed at run time by AlterConfigs or IncrementalAlterConfigs; the change is stored",
    "in the data dir and reaches every topic without an override at once. The others are read-only:",
    "changing them is INVALID_REQUEST `Cannot update these configs dynamically`.",
    "",
    "| name | type | default | valid values | update mode | description |",
    "|---|---|---|---|---|---|",
    ...BROKER_CONFIG_DEFINITIONS.map((definition) => row(definition, [definition.updateMode], definition.sluiceNote)),
    "",
    "## Broker loggers",
    "",
    "Resource type 8, named by the broker's id, has one logger, `root`: the broker's log level, with log4j's level",
    "names (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF). IncrementalAlterConfigs SETs it at run time; it affects",
    "what the broker logs through its root logger.",
    "",
  ];
  return lines.join("\n");
}
