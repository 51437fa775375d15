// Applying AlterConfigs (33) and IncrementalAlterConfigs (44) to topics, to this broker's dynamic configs (or the
// cluster-wide defaults, resource name "") and to broker loggers, as Kafka does. Every change of a resource is
// checked before any is applied, so a resource changes entirely or not at all; validateOnly checks and stops.
// AlterConfigs replaces a resource's whole set of overrides; the incremental form SETs, DELETEs, and APPENDs to or
// SUBTRACTs from list configs (starting from the config's default when it has no override, as Kafka does).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import type { Broker } from "../broker.js";
import { TopicError } from "../topics.js";
import { BROKER_CONFIGS } from "./broker-configs.js";
import { ConfigResourceType, configValueProblem, listItems, type ConfigDefinition } from "./definition.js";
import { LOG4J_LEVELS, pinoLevel, ROOT_LOGGER } from "./loggers.js";
import { TOPIC_CONFIGS } from "./topic-configs.js";

/** Resources one AlterConfigs or IncrementalAlterConfigs request may name; the rest get INVALID_REQUEST. */
export const ALTER_CONFIGS_RESOURCES_MAX = 1000;

export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;
const OPERATION_NAMES = ["SET", "DELETE", "APPEND", "SUBTRACT"];

export interface ConfigChange {
  name: string;
  operation: number;
  value: string | null;
}

export interface AlterResource {
  resourceType: number;
  resourceName: string;
  changes: ConfigChange[];
}

export interface AlterResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

function refuse(errorCode: number, message: string): never {
  throw new TopicError(errorCode, message);
}

/** Refuses a config named twice, a SET without a value and an unknown operation, before anything else is looked at. */
function checkShape(changes: readonly ConfigChange[]): void {
  const seen = new Set<string>();
  for (const { name, operation, value } of changes) {
    if (seen.has(name)) refuse(ErrorCode.INVALID_REQUEST, `config ${name} is given more than once`);
    seen.add(name);
    if (operation === ConfigOperation.SET && value === null) {
      refuse(ErrorCode.INVALID_REQUEST, `SET ${name} needs a value`);
    }
    if (!Number.isInteger(operation) || operation < ConfigOperation.SET || operation > ConfigOperation.SUBTRACT) {
      refuse(
        ErrorCode.INVALID_REQUEST,
        `config operation ${operation} on ${name} is unknown; use 0 (SET), 1 (DELETE), 2 (APPEND) or 3 (SUBTRACT)`,
      );
    }
  }
}

/** The overrides a resource ends up with after the changes (already checked by checkShape). */
function nextOverrides(
  current: ReadonlyMap<string, string>,
  changes: readonly ConfigChange[],
  incremental: boolean,
  definitionOf: (name: string) => ConfigDefinition | undefined,
): Map<string, string> {
  const next = incremental ? new Map(current) : new Map<string, string>();
  for (const { name, operation, value } of changes) {
    switch (operation) {
      case ConfigOperation.SET:
        next.set(name, value ?? "");
        break;
      case ConfigOperation.DELETE:
        next.delete(name);
        break;
      case ConfigOperation.APPEND:
      case ConfigOperation.SUBTRACT: {
        const definition = definitionOf(name);
        if (definition?.type !== "list") {
          const verb = operation === ConfigOperation.APPEND ? "append" : "subtract";
          refuse(ErrorCode.INVALID_CONFIG, `Config value ${verb} is not allowed for config key: ${name}`);
        }
        const base = listItems(next.get(name) ?? definition.defaultValue ?? "");
        const given = listItems(value ?? "");
        const items =
          operation === ConfigOperation.APPEND
            ? [...base, ...given.filter((item) => !base.includes(item))]
            : base.filter((item) => !given.includes(item));
        next.set(name, items.join(","));
        break;
      }
    }
  }
  return next;
}

function alterTopic(broker: Broker, resource: AlterResource, incremental: boolean, validateOnly: boolean): void {
  const topic = broker.topics.get(resource.resourceName);
  if (topic === undefined) {
    refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${resource.resourceName} does not exist`);
  }
  for (const { name } of resource.changes) {
    if (!TOPIC_CONFIGS.has(name)) refuse(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${name}`);
  }
  const next = nextOverrides(topic.configs, resource.changes, incremental, (name) => TOPIC_CONFIGS.get(name));
  broker.topics.alterConfigs(topic.name, new Map(next), false, validateOnly);
}

function alterBroker(broker: Broker, resource: AlterResource, incremental: boolean, validateOnly: boolean): void {
  const clusterWide = resource.resourceName === "";
  if (!clusterWide && resource.resourceName !== String(broker.config.nodeId)) {
    refuse(
      ErrorCode.INVALID_REQUEST,
      `broker ${JSON.stringify(resource.resourceName)} is not this broker; name it by its id, ` +
        `${broker.config.nodeId}, or "" for the cluster-wide default`,
    );
  }
  const readOnly = resource.changes
    .map(({ name }) => name)
    .filter((name) => BROKER_CONFIGS.get(name)?.updateMode === "read-only");
  if (readOnly.length > 0) {
    refuse(ErrorCode.INVALID_REQUEST, `Cannot update these configs dynamically: Set(${readOnly.join(", ")})`);
  }
  const layer = broker.settings.layer(clusterWide ? "clusterDefault" : "perBroker");
  const next = nextOverrides(layer, resource.changes, incremental, (name) => BROKER_CONFIGS.get(name));
  for (const [name, value] of next) {
    const definition = BROKER_CONFIGS.get(name);
    const problem = definition === undefined ? null : configValueProblem(definition, value);
    if (problem !== null) refuse(ErrorCode.INVALID_CONFIG, problem);
  }
  if (validateOnly) return;
  layer.clear();
  for (const [name, value] of next) layer.set(name, value);
  broker.brokerConfigsChanged();
  broker.logger.info({ resource: resource.resourceName, configs: Object.fromEntries(next) }, "broker configs changed");
}

function alterLoggers(broker: Broker, resource: AlterResource, incremental: boolean, validateOnly: boolean): void {
  if (!incremental) {
    refuse(
      ErrorCode.INVALID_REQUEST,
      "AlterConfigs cannot change broker loggers; use IncrementalAlterConfigs, as Kafka requires",
    );
  }
  if (resource.resourceName !== String(broker.config.nodeId)) {
    refuse(ErrorCode.INVALID_REQUEST, `name the broker logger resource by this broker's id, ${broker.config.nodeId}`);
  }
  let level: string | null = null;
  for (const { name, operation, value } of resource.changes) {
    if (name !== ROOT_LOGGER) refuse(ErrorCode.INVALID_CONFIG, `Logger ${name} does not exist!`);
    if (operation === ConfigOperation.DELETE) {
      refuse(ErrorCode.INVALID_REQUEST, "Removing the log level of the root logger is not allowed");
    }
    if (operation !== ConfigOperation.SET) {
      const label = OPERATION_NAMES[operation] ?? String(operation);
      refuse(ErrorCode.INVALID_REQUEST, `${label} operation is not allowed for the BROKER_LOGGER resource`);
    }
    level = pinoLevel(value ?? "");
    if (level === null) {
      refuse(
        ErrorCode.INVALID_CONFIG,
        `Cannot set the log level of ${name} to ${String(value)} as it is not a supported log level. ` +
          `Valid log4j levels are ${LOG4J_LEVELS.join(", ")}`,
      );
    }
  }
  if (validateOnly || level === null) return;
  broker.logger.level = level;
}

/** Applies (or, with validateOnly, checks) each resource's changes, answering one entry per resource in order. */
export function alterConfigResources(
  broker: Broker,
  resources: readonly AlterResource[],
  incremental: boolean,
  validateOnly: boolean,
): AlterResult[] {
  const key = (resource: AlterResource) => `${resource.resourceType}:${resource.resourceName}`;
  const mentions = new Map<string, number>();
  for (const resource of resources) mentions.set(key(resource), (mentions.get(key(resource)) ?? 0) + 1);
  return resources.map((resource, position) => {
    const answer = (errorCode: number, errorMessage: string | null): AlterResult => ({
      errorCode,
      errorMessage,
      resourceType: resource.resourceType,
      resourceName: resource.resourceName,
    });
    if (position >= ALTER_CONFIGS_RESOURCES_MAX) {
      return answer(
        ErrorCode.INVALID_REQUEST,
        `at most ${ALTER_CONFIGS_RESOURCES_MAX} resources per request; change the rest in another`,
      );
    }
    if (mentions.get(key(resource))! > 1) {
      return answer(ErrorCode.INVALID_REQUEST, `resource ${resource.resourceName} appears more than once`);
    }
    try {
      checkShape(resource.changes);
      switch (resource.resourceType) {
        case ConfigResourceType.TOPIC:
          alterTopic(broker, resource, incremental, validateOnly);
          break;
        case ConfigResourceType.BROKER:
          alterBroker(broker, resource, incremental, validateOnly);
          break;
        case ConfigResourceType.BROKER_LOGGER:
          alterLoggers(broker, resource, incremental, validateOnly);
          break;
        default:
          refuse(
            ErrorCode.INVALID_REQUEST,
            `resource type ${resource.resourceType} is not supported; use 2 (topic), 4 (broker) or 8 (broker logger)`,
          );
      }
      return answer(ErrorCode.NONE, null);
    } catch (error) {
      if (!(error instanceof TopicError)) throw error;
      return answer(error.errorCode, error.message);
    }
  });
}
