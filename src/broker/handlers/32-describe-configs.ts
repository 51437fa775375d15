// DescribeConfigs (key 32), versions 0–4. A topic resource (type 2) lists every Kafka topic config with its
// effective value and source: the topic's override (1), a dynamic broker config (2, 3), a flag Sluice was started
// with (4) or the default (5). A broker resource (type 4, named by this broker's id) lists the broker configs of
// configs/broker-configs.ts, read-only unless AlterConfigs may change them; the empty name lists the cluster-wide
// dynamic defaults that are set. A broker-logger resource (type 8) lists the loggers and their levels.
// Synonyms (v1+, when asked) list every layer behind a value, most specific first; documentation (v3+, when asked)
// comes from the same tables. Nothing Sluice has is sensitive.

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
} from "../../kafka/protocol/messages/describe-configs-response.js";
import type { DescribeConfigsResource } from "../../kafka/protocol/messages/describe-configs-request.js";
import type { Broker } from "../broker.js";
import { BROKER_CONFIG_DEFINITIONS, BROKER_CONFIGS } from "../configs/broker-configs.js";
import {
  CONFIG_TYPE_CODES,
  ConfigResourceType,
  ConfigSourceCode,
  type ConfigDefinition,
} from "../configs/definition.js";
import { loggerLevels } from "../configs/loggers.js";
import type { ResolvedConfig } from "../configs/settings.js";
import { effectiveTopicConfigs } from "../topic-config.js";
import { defineHandler } from "./handler.js";

export { ConfigResourceType, ConfigSourceCode as ConfigSource };

/** Kafka's ConfigEntry.ConfigType codes as DescribeConfigs v3+ reports them. */
export const ConfigType = { UNKNOWN: 0, BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, LIST: 7 } as const;

/** Resources one DescribeConfigs request may name; the rest are answered with INVALID_REQUEST. */
export const DESCRIBE_CONFIGS_RESOURCES_MAX = 1000;

interface DescribeOptions {
  includeSynonyms: boolean;
  includeDocumentation: boolean;
}

function wanted(keys: readonly string[] | null): (name: string) => boolean {
  if (keys === null) return () => true;
  const set = new Set(keys);
  return (name) => set.has(name);
}

function entry(
  name: string,
  resolved: ResolvedConfig,
  definition: ConfigDefinition | undefined,
  readOnly: boolean,
  options: DescribeOptions,
): DescribeConfigsResourceResult {
  return {
    name,
    value: resolved.value,
    readOnly,
    isDefault: resolved.source === ConfigSourceCode.DEFAULT_CONFIG,
    configSource: resolved.source,
    isSensitive: false,
    synonyms: options.includeSynonyms ? resolved.synonyms : [],
    configType: definition === undefined ? ConfigType.UNKNOWN : CONFIG_TYPE_CODES[definition.type],
    documentation: options.includeDocumentation && definition !== undefined ? definition.documentation : null,
  };
}

function describeTopic(broker: Broker, resource: DescribeConfigsResource, options: DescribeOptions) {
  const topic = broker.topics.get(resource.resourceName);
  if (topic === undefined) {
    return failure(resource, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${resource.resourceName} does not exist`);
  }
  const include = wanted(resource.configurationKeys);
  const configs = effectiveTopicConfigs(topic.configs, broker.settings)
    .filter((config) => include(config.name))
    .map((config) => entry(config.name, config, config.definition, false, options));
  return success(resource, configs);
}

function describeBroker(broker: Broker, resource: DescribeConfigsResource, options: DescribeOptions) {
  const { nodeId } = broker.config;
  const include = wanted(resource.configurationKeys);
  const { settings } = broker;
  if (resource.resourceName === "") {
    const configs = [...settings.clusterDefault]
      .filter(([name]) => include(name))
      .map(([name, value]) => {
        const definition = BROKER_CONFIGS.get(name);
        const source = ConfigSourceCode.DYNAMIC_DEFAULT_BROKER_CONFIG;
        return entry(name, { value, source, synonyms: [{ name, value, source }] }, definition, false, options);
      });
    return success(resource, configs);
  }
  if (resource.resourceName !== String(nodeId)) {
    return failure(
      resource,
      ErrorCode.INVALID_REQUEST,
      `broker ${JSON.stringify(resource.resourceName)} is not this broker; name it by its id, ${nodeId}`,
    );
  }
  const known = new Set(BROKER_CONFIGS.keys());
  const custom = [...new Set([...settings.perBroker.keys(), ...settings.clusterDefault.keys()])].filter(
    (name) => !known.has(name),
  );
  const names = [...BROKER_CONFIG_DEFINITIONS.map((definition) => definition.name), ...custom.sort()];
  const configs = names.filter(include).map((name) => {
    const definition = BROKER_CONFIGS.get(name);
    const readOnly = definition === undefined ? false : definition.updateMode === "read-only";
    return entry(name, settings.broker(name), definition, readOnly, options);
  });
  return success(resource, configs);
}

function describeLoggers(broker: Broker, resource: DescribeConfigsResource) {
  if (resource.resourceName !== String(broker.config.nodeId)) {
    return failure(
      resource,
      ErrorCode.INVALID_REQUEST,
      `broker ${JSON.stringify(resource.resourceName)} is not this broker; name it by its id, ${broker.config.nodeId}`,
    );
  }
  const include = wanted(resource.configurationKeys);
  const source = ConfigSourceCode.DYNAMIC_BROKER_LOGGER_CONFIG;
  const configs = loggerLevels(broker.logger)
    .filter(({ name }) => include(name))
    .map(({ name, level }): DescribeConfigsResourceResult => ({
      name,
      value: level,
      readOnly: false,
      isDefault: false,
      configSource: source,
      isSensitive: false,
      synonyms: [],
      configType: ConfigType.STRING,
      documentation: null,
    }));
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
    const options: DescribeOptions = {
      includeSynonyms: ctx.apiVersion >= 1 && request.includeSynonyms,
      includeDocumentation: ctx.apiVersion >= 3 && request.includeDocumentation,
    };
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
          return describeTopic(broker, resource, options);
        case ConfigResourceType.BROKER:
          return describeBroker(broker, resource, options);
        case ConfigResourceType.BROKER_LOGGER:
          return describeLoggers(broker, resource);
        default:
          return failure(
            resource,
            ErrorCode.INVALID_REQUEST,
            `resource type ${resource.resourceType} is not supported; use 2 (topic), 4 (broker) or 8 (broker logger)`,
          );
      }
    });
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, results: request.resources.map((resource) => failure(resource, errorCode, null)) };
  },
});
