// DescribeConfigs (key 32), versions 0–4. Topic resources (type 2) list the topic configs Sluice understands, each
// either a topic override (source 1) or the default (source 5); the broker resource (type 4, named by this broker's
// id) lists the settings fixed at start, read-only. Synonyms (v1+, when asked) show where a topic's value comes from:
// the override first, then the broker-level setting. The empty broker name asks for cluster-wide dynamic defaults,
// of which Sluice has none, so it is answered with an empty list as Kafka does.
// Leaves out: broker logger resources (type 8) and documentation (always null); nothing is sensitive.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  DescribeConfigsRequestSchema,
  DescribeConfigsResponseSchema,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
} from "../../kafka/protocol/messages/index.js";
import type {
  DescribeConfigsResourceResult,
  DescribeConfigsResult,
  DescribeConfigsSynonym,
} from "../../kafka/protocol/messages/describe-configs-response.js";
import type { DescribeConfigsResource } from "../../kafka/protocol/messages/describe-configs-request.js";
import type { Broker } from "../broker.js";
import type { BrokerConfig } from "../config.js";
import { effectiveTopicConfigs, topicConfigValue, type TopicConfigDefinition } from "../topic-config.js";
import { defineHandler } from "./handler.js";

/** Kafka's ConfigResource.Type codes for the resources Sluice knows. */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

/** Kafka's DescribeConfigsResponse.ConfigSource codes used here. */
export const ConfigSource = { TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;

/** The source a topic config reports: its override, or the default when it has none. */
export function topicConfigSource(overridden: boolean): number {
  return overridden ? ConfigSource.TOPIC_CONFIG : ConfigSource.DEFAULT_CONFIG;
}

/** Kafka's ConfigDef.Type codes as DescribeConfigs v3+ reports them. */
export const ConfigType = { BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, LIST: 7 } as const;

/** Resources one DescribeConfigs request may name; the rest are answered with INVALID_REQUEST. */
export const DESCRIBE_CONFIGS_RESOURCES_MAX = 1000;

interface BrokerSetting {
  readonly name: string;
  readonly type: number;
  readonly value: (config: BrokerConfig) => string | null;
  /** STATIC_BROKER_CONFIG for what a flag sets, DEFAULT_CONFIG for what Sluice fixes. */
  readonly source: number;
}

function topicDefault(topicConfigName: string): (config: BrokerConfig) => string {
  return (config) => topicConfigValue(new Map(), topicConfigName, config);
}

const STATIC = ConfigSource.STATIC_BROKER_CONFIG;
const FIXED = ConfigSource.DEFAULT_CONFIG;

/** The broker's settings under Kafka's names, in the order DescribeConfigs lists them. */
const BROKER_SETTINGS: readonly BrokerSetting[] = [
  { name: "broker.id", type: ConfigType.INT, value: (c) => String(c.nodeId), source: STATIC },
  { name: "log.dirs", type: ConfigType.STRING, value: (c) => c.dataDir, source: STATIC },
  { name: "message.max.bytes", type: ConfigType.INT, value: (c) => String(c.messageBytesMax), source: STATIC },
  { name: "socket.request.max.bytes", type: ConfigType.INT, value: (c) => String(c.requestBytesMax), source: STATIC },
  { name: "max.connections", type: ConfigType.INT, value: (c) => String(c.connectionsMax), source: STATIC },
  { name: "num.partitions", type: ConfigType.INT, value: (c) => String(c.defaultPartitions), source: STATIC },
  { name: "default.replication.factor", type: ConfigType.INT, value: () => "1", source: FIXED },
  {
    name: "auto.create.topics.enable",
    type: ConfigType.BOOLEAN,
    value: (c) => String(c.autoCreateTopics),
    source: STATIC,
  },
  { name: "log.retention.ms", type: ConfigType.LONG, value: (c) => String(c.retentionMs), source: STATIC },
  { name: "log.retention.bytes", type: ConfigType.LONG, value: (c) => String(c.retentionBytes), source: STATIC },
  { name: "log.segment.bytes", type: ConfigType.INT, value: (c) => String(c.segmentBytesMax), source: STATIC },
  { name: "log.roll.ms", type: ConfigType.LONG, value: (c) => String(c.segmentMs), source: STATIC },
  {
    name: "log.retention.check.interval.ms",
    type: ConfigType.LONG,
    value: (c) => String(c.retentionCheckIntervalMs),
    source: STATIC,
  },
  { name: "log.cleanup.policy", type: ConfigType.LIST, value: topicDefault("cleanup.policy"), source: FIXED },
  {
    name: "log.message.timestamp.type",
    type: ConfigType.STRING,
    value: topicDefault("message.timestamp.type"),
    source: FIXED,
  },
  { name: "compression.type", type: ConfigType.STRING, value: topicDefault("compression.type"), source: FIXED },
  { name: "min.insync.replicas", type: ConfigType.INT, value: topicDefault("min.insync.replicas"), source: FIXED },
  {
    name: "group.min.session.timeout.ms",
    type: ConfigType.INT,
    value: (c) => String(c.groupMinSessionTimeoutMs),
    source: STATIC,
  },
  {
    name: "group.max.session.timeout.ms",
    type: ConfigType.INT,
    value: (c) => String(c.groupMaxSessionTimeoutMs),
    source: STATIC,
  },
  {
    name: "group.initial.rebalance.delay.ms",
    type: ConfigType.INT,
    value: (c) => String(c.groupInitialRebalanceDelayMs),
    source: STATIC,
  },
];

const BROKER_SETTINGS_BY_NAME: ReadonlyMap<string, BrokerSetting> = new Map(BROKER_SETTINGS.map((s) => [s.name, s]));

/** The broker setting each topic config falls back to, as Kafka names them. */
const BROKER_NAME_OF_TOPIC_CONFIG: ReadonlyMap<string, string> = new Map([
  ["cleanup.policy", "log.cleanup.policy"],
  ["retention.ms", "log.retention.ms"],
  ["retention.bytes", "log.retention.bytes"],
  ["segment.bytes", "log.segment.bytes"],
  ["segment.ms", "log.roll.ms"],
  ["max.message.bytes", "message.max.bytes"],
  ["message.timestamp.type", "log.message.timestamp.type"],
  ["compression.type", "compression.type"],
  ["min.insync.replicas", "min.insync.replicas"],
]);

const TOPIC_CONFIG_TYPES: Record<TopicConfigDefinition["type"], number> = {
  string: ConfigType.STRING,
  long: ConfigType.LONG,
  int: ConfigType.INT,
  boolean: ConfigType.BOOLEAN,
};

export function topicConfigType(definition: TopicConfigDefinition): number {
  return definition.name === "cleanup.policy" ? ConfigType.LIST : TOPIC_CONFIG_TYPES[definition.type];
}

/** The broker-level setting behind a topic config, as a synonym, or null for a config without one. */
function brokerSynonym(topicConfigName: string, config: BrokerConfig): DescribeConfigsSynonym | null {
  const brokerName = BROKER_NAME_OF_TOPIC_CONFIG.get(topicConfigName);
  const setting = brokerName === undefined ? undefined : BROKER_SETTINGS_BY_NAME.get(brokerName);
  if (setting === undefined) return null;
  return { name: setting.name, value: setting.value(config), source: setting.source };
}

function wanted(keys: readonly string[] | null): (name: string) => boolean {
  if (keys === null) return () => true;
  const set = new Set(keys);
  return (name) => set.has(name);
}

function describeTopic(
  broker: Broker,
  resource: DescribeConfigsResource,
  includeSynonyms: boolean,
): DescribeConfigsResult {
  const topic = broker.topics.get(resource.resourceName);
  if (topic === undefined) {
    return failure(resource, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${resource.resourceName} does not exist`);
  }
  const include = wanted(resource.configurationKeys);
  const configs = effectiveTopicConfigs(topic.configs, broker.config)
    .filter((entry) => include(entry.name))
    .map((entry): DescribeConfigsResourceResult => {
      const overridden = entry.source === "topic";
      const synonyms: DescribeConfigsSynonym[] = [];
      if (includeSynonyms) {
        if (overridden) synonyms.push({ name: entry.name, value: entry.value, source: ConfigSource.TOPIC_CONFIG });
        const fallback = brokerSynonym(entry.name, broker.config);
        if (fallback !== null) synonyms.push(fallback);
      }
      return {
        name: entry.name,
        value: entry.value,
        readOnly: entry.definition.readOnly ?? false,
        isDefault: !overridden,
        configSource: topicConfigSource(overridden),
        isSensitive: false,
        synonyms,
        configType: topicConfigType(entry.definition),
        documentation: null,
      };
    });
  return success(resource, configs);
}

function describeBroker(
  broker: Broker,
  resource: DescribeConfigsResource,
  includeSynonyms: boolean,
): DescribeConfigsResult {
  const { nodeId } = broker.config;
  if (resource.resourceName === "") return success(resource, []);
  if (resource.resourceName !== String(nodeId)) {
    return failure(
      resource,
      ErrorCode.INVALID_REQUEST,
      `broker ${JSON.stringify(resource.resourceName)} is not this broker; name it by its id, ${nodeId}`,
    );
  }
  const include = wanted(resource.configurationKeys);
  const configs = BROKER_SETTINGS.filter((setting) => include(setting.name)).map(
    (setting): DescribeConfigsResourceResult => {
      const value = setting.value(broker.config);
      return {
        name: setting.name,
        value,
        readOnly: true,
        isDefault: setting.source === ConfigSource.DEFAULT_CONFIG,
        configSource: setting.source,
        isSensitive: false,
        synonyms: includeSynonyms ? [{ name: setting.name, value, source: setting.source }] : [],
        configType: setting.type,
        documentation: null,
      };
    },
  );
  return success(resource, configs);
}

function success(resource: DescribeConfigsResource, configs: DescribeConfigsResourceResult[]): DescribeConfigsResult {
  return {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    resourceType: resource.resourceType,
    resourceName: resource.resourceName,
    configs,
  };
}

function failure(
  resource: DescribeConfigsResource,
  errorCode: number,
  errorMessage: string | null,
): DescribeConfigsResult {
  return {
    errorCode,
    errorMessage,
    resourceType: resource.resourceType,
    resourceName: resource.resourceName,
    configs: [],
  };
}

export default defineHandler<DescribeConfigsRequest, DescribeConfigsResponse>({
  apiKey: 32,
  name: "DescribeConfigs",
  versions: [0, 4],
  requestSchema: DescribeConfigsRequestSchema,
  responseSchema: DescribeConfigsResponseSchema,
  handle(ctx, request) {
    const { broker } = ctx;
    const includeSynonyms = ctx.apiVersion >= 1 && request.includeSynonyms;
    const results = request.resources.map((resource, position) => {
      if (position >= DESCRIBE_CONFIGS_RESOURCES_MAX) {
        return failure(
          resource,
          ErrorCode.INVALID_REQUEST,
          `at most ${DESCRIBE_CONFIGS_RESOURCES_MAX} resources per DescribeConfigs request; ask for the rest in another`,
        );
      }
      switch (resource.resourceType) {
        case ConfigResourceType.TOPIC:
          return describeTopic(broker, resource, includeSynonyms);
        case ConfigResourceType.BROKER:
          return describeBroker(broker, resource, includeSynonyms);
        default:
          return failure(
            resource,
            ErrorCode.INVALID_REQUEST,
            `resource type ${resource.resourceType} is not supported; use 2 (topic) or 4 (broker)`,
          );
      }
    });
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, results: request.resources.map((resource) => failure(resource, errorCode, null)) };
  },
});
