// Reading and changing configs of topics and brokers: DescribeConfigs, AlterConfigs (replaces a resource's whole set
// of overrides) and IncrementalAlterConfigs (set, delete, append to or subtract from single configs). A broker's own
// configs are asked of that broker; everything else of any broker. Results are per resource, and a resource's error
// is its result (an unknown topic stays unknown): only failures of the request itself are retried.

import { Api } from "../apis/definitions.js";
import type { KafkaCluster } from "../cluster/cluster.js";
import { sendRouted, type ItemOutcome } from "../cluster/routing.js";
import { brokerErrorOrNull, KafkaBrokerError, KafkaConfigError } from "../errors.js";
import type { BrokerConnection } from "../network/connection.js";

export type ConfigResourceType = "topic" | "broker" | "broker-logger";

const RESOURCE_TYPE_CODES: Readonly<Record<ConfigResourceType, number>> = {
  topic: 2,
  broker: 4,
  "broker-logger": 8,
};

/** Kafka's ConfigSource names, by code. */
export const CONFIG_SOURCES = [
  "UNKNOWN",
  "DYNAMIC_TOPIC_CONFIG",
  "DYNAMIC_BROKER_CONFIG",
  "DYNAMIC_DEFAULT_BROKER_CONFIG",
  "STATIC_BROKER_CONFIG",
  "DEFAULT_CONFIG",
  "DYNAMIC_BROKER_LOGGER_CONFIG",
  "CLIENT_METRICS_CONFIG",
  "GROUP_CONFIG",
] as const;

/** Kafka's ConfigType names, by code. */
export const CONFIG_TYPES = [
  "UNKNOWN",
  "BOOLEAN",
  "STRING",
  "INT",
  "SHORT",
  "LONG",
  "DOUBLE",
  "LIST",
  "CLASS",
  "PASSWORD",
] as const;

export interface ConfigResource {
  readonly type: ConfigResourceType;
  /** A topic's name, or a broker's node id as text ("" for the cluster-wide broker defaults). */
  readonly name: string;
}

export interface ConfigSynonym {
  readonly name: string;
  readonly value: string | null;
  readonly source: string;
}

export interface ConfigEntry {
  readonly name: string;
  /** null for sensitive configs and configs without a value. */
  readonly value: string | null;
  readonly readOnly: boolean;
  readonly isDefault: boolean;
  readonly source: string;
  readonly sensitive: boolean;
  readonly synonyms: readonly ConfigSynonym[];
  readonly type: string;
  readonly documentation: string | null;
}

export interface ResourceConfigs extends ConfigResource {
  readonly error: KafkaBrokerError | null;
  readonly configs: readonly ConfigEntry[];
}

export interface ConfigResourceResult extends ConfigResource {
  readonly error: KafkaBrokerError | null;
}

export type ConfigOperation = "set" | "delete" | "append" | "subtract";

const OPERATION_CODES: Readonly<Record<ConfigOperation, number>> = { set: 0, delete: 1, append: 2, subtract: 3 };

export interface ConfigChange {
  readonly name: string;
  readonly operation: ConfigOperation;
  /** Required for set, append and subtract. */
  readonly value?: string;
}

export const CONFIG_RESOURCES_COUNT_MAX = 10_000;

function resourceKey(resource: ConfigResource): string {
  return `${resource.type}\0${resource.name}`;
}

function checkResources<R extends ConfigResource>(field: string, resources: readonly R[]): void {
  if (resources.length > CONFIG_RESOURCES_COUNT_MAX) {
    throw new KafkaConfigError(field, `at most ${CONFIG_RESOURCES_COUNT_MAX} resources per call`);
  }
  resources.forEach((resource, index) => {
    if (!(resource.type in RESOURCE_TYPE_CODES)) {
      throw new KafkaConfigError(
        `${field}[${index}].type`,
        `must be one of ${Object.keys(RESOURCE_TYPE_CODES).join(", ")}`,
      );
    }
    if (typeof resource.name !== "string" || (resource.type === "topic" && resource.name === "")) {
      throw new KafkaConfigError(`${field}[${index}].name`, "must name the topic or broker");
    }
    if (resource.type !== "topic" && resource.name !== "" && !/^[0-9]{1,10}$/.test(resource.name)) {
      throw new KafkaConfigError(
        `${field}[${index}].name`,
        `a broker resource is named by its node id, not "${resource.name}"`,
      );
    }
  });
}

/** A broker resource goes to that broker; a topic (or the cluster-wide defaults) to any broker. */
function routeResource(cluster: KafkaCluster, resource: ConfigResource): Promise<BrokerConnection> {
  if (resource.type !== "topic" && resource.name !== "") return cluster.nodeConnection(Number(resource.name), "admin");
  return cluster.anyConnection("admin");
}

function codeName(names: readonly string[], code: number | undefined): string {
  return code === undefined ? "UNKNOWN" : (names[code] ?? `UNKNOWN_${code}`);
}

/** Sends a per-resource request to the right brokers; results come back in the resources' order. */
async function perResource<I extends ConfigResource, R>(
  cluster: KafkaCluster,
  items: readonly I[],
  send: (connection: BrokerConnection, items: I[]) => Promise<Map<string, ItemOutcome<R>>>,
  failed: (item: I, error: KafkaBrokerError) => R,
): Promise<R[]> {
  const outcomes = await sendRouted(cluster, {
    items,
    keyOf: resourceKey,
    route: (item) => routeResource(cluster, item),
    send,
    forget: () => undefined,
  });
  return items.map((item) => {
    const outcome = outcomes.get(resourceKey(item))!;
    if ("result" in outcome) return outcome.result;
    if (outcome.error instanceof KafkaBrokerError) return failed(item, outcome.error);
    throw outcome.error;
  });
}

export async function describeConfigs(
  cluster: KafkaCluster,
  resources: ReadonlyArray<ConfigResource & { readonly keys?: readonly string[] }>,
  options: { includeSynonyms?: boolean; includeDocumentation?: boolean } = {},
): Promise<ResourceConfigs[]> {
  checkResources("resources", resources);
  return perResource(
    cluster,
    resources,
    async (connection, items) => {
      const response = await connection.request(Api.DescribeConfigs, {
        resources: items.map((item) => ({
          resourceType: RESOURCE_TYPE_CODES[item.type],
          resourceName: item.name,
          configurationKeys: item.keys === undefined ? null : [...item.keys],
        })),
        includeSynonyms: options.includeSynonyms ?? false,
        includeDocumentation: options.includeDocumentation ?? false,
      });
      const answers = new Map<string, ItemOutcome<ResourceConfigs>>();
      for (const item of items) {
        const result = response.results.find(
          (entry) => entry.resourceType === RESOURCE_TYPE_CODES[item.type] && entry.resourceName === item.name,
        );
        if (result === undefined) continue;
        const context = `describing the configs of ${item.type} "${item.name}"`;
        const error = brokerErrorOrNull(result.errorCode, context, result.errorMessage);
        answers.set(resourceKey(item), {
          result: {
            type: item.type,
            name: item.name,
            error,
            configs: result.configs.map((config) => ({
              name: config.name,
              value: config.value,
              readOnly: config.readOnly,
              isDefault: config.isDefault || config.configSource === 5,
              source: codeName(CONFIG_SOURCES, config.configSource),
              sensitive: config.isSensitive,
              synonyms: (config.synonyms ?? []).map((synonym) => ({
                name: synonym.name ?? "",
                value: synonym.value ?? null,
                source: codeName(CONFIG_SOURCES, synonym.source),
              })),
              type: codeName(CONFIG_TYPES, config.configType),
              documentation: config.documentation ?? null,
            })),
          },
        });
      }
      return answers;
    },
    (item, error) => ({ type: item.type, name: item.name, error, configs: [] }),
  );
}

/** Replaces each resource's whole set of overrides with `configs` (a config left out returns to its default). */
export async function alterConfigs(
  cluster: KafkaCluster,
  resources: ReadonlyArray<ConfigResource & { readonly configs: Readonly<Record<string, string>> }>,
  options: { validateOnly?: boolean } = {},
): Promise<ConfigResourceResult[]> {
  checkResources("resources", resources);
  return perResource(
    cluster,
    resources,
    async (connection, items) => {
      const response = await connection.request(Api.AlterConfigs, {
        resources: items.map((item) => ({
          resourceType: RESOURCE_TYPE_CODES[item.type],
          resourceName: item.name,
          configs: Object.entries(item.configs).map(([name, value]) => ({ name, value })),
        })),
        validateOnly: options.validateOnly ?? false,
      });
      return alterOutcomes(items, response.responses, "altering");
    },
    (item, error) => ({ type: item.type, name: item.name, error }),
  );
}

export async function incrementalAlterConfigs(
  cluster: KafkaCluster,
  resources: ReadonlyArray<ConfigResource & { readonly changes: readonly ConfigChange[] }>,
  options: { validateOnly?: boolean } = {},
): Promise<ConfigResourceResult[]> {
  checkResources("resources", resources);
  resources.forEach((resource, index) =>
    resource.changes.forEach((change, changeIndex) => {
      const field = `resources[${index}].changes[${changeIndex}]`;
      if (!(change.operation in OPERATION_CODES)) {
        throw new KafkaConfigError(`${field}.operation`, `must be one of ${Object.keys(OPERATION_CODES).join(", ")}`);
      }
      if (change.operation !== "delete" && typeof change.value !== "string") {
        throw new KafkaConfigError(`${field}.value`, `${change.operation} needs a value`);
      }
    }),
  );
  return perResource(
    cluster,
    resources,
    async (connection, items) => {
      const response = await connection.request(Api.IncrementalAlterConfigs, {
        resources: items.map((item) => ({
          resourceType: RESOURCE_TYPE_CODES[item.type],
          resourceName: item.name,
          configs: item.changes.map((change) => ({
            name: change.name,
            configOperation: OPERATION_CODES[change.operation],
            value: change.operation === "delete" ? null : (change.value ?? null),
          })),
        })),
        validateOnly: options.validateOnly ?? false,
      });
      return alterOutcomes(items, response.responses, "changing");
    },
    (item, error) => ({ type: item.type, name: item.name, error }),
  );
}

function alterOutcomes<I extends ConfigResource>(
  items: readonly I[],
  responses: ReadonlyArray<{
    errorCode: number;
    errorMessage: string | null;
    resourceType: number;
    resourceName: string;
  }>,
  doing: string,
): Map<string, ItemOutcome<ConfigResourceResult>> {
  const answers = new Map<string, ItemOutcome<ConfigResourceResult>>();
  for (const item of items) {
    const answer = responses.find(
      (response) => response.resourceType === RESOURCE_TYPE_CODES[item.type] && response.resourceName === item.name,
    );
    if (answer === undefined) continue;
    const error = brokerErrorOrNull(
      answer.errorCode,
      `${doing} the configs of ${item.type} "${item.name}"`,
      answer.errorMessage,
    );
    answers.set(
      resourceKey(item),
      error !== null && error.retriable ? { error } : { result: { type: item.type, name: item.name, error } },
    );
  }
  return answers;
}
