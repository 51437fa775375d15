// Where each config's value comes from, in Kafka's order of precedence: a topic's override, then the broker config
// behind it as set dynamically for this broker, as set dynamically for the whole cluster, as set at start (flags),
// and finally the default. DescribeConfigs reports each layer as a synonym; topics read their effective values here,
// so a dynamic broker change reaches every topic without an override at once.

import type { BrokerConfig } from "../config.js";
import { BROKER_CONFIGS, type SluiceBrokerConfigDefinition } from "./broker-configs.js";
import { ConfigSourceCode } from "./definition.js";
import { TOPIC_CONFIGS } from "./topic-configs.js";

export interface ConfigSynonym {
  name: string;
  value: string | null;
  source: number;
}

export interface ResolvedConfig {
  value: string | null;
  source: number;
  /** Every layer that gives this config a value, most specific first. */
  synonyms: ConfigSynonym[];
}

export interface StoredBrokerConfigs {
  /** Dynamic configs of this broker (resource named by its id). */
  perBroker: Record<string, string>;
  /** Dynamic cluster-wide defaults (resource named ""). */
  clusterDefault: Record<string, string>;
}

/** The dynamic layers AlterConfigs writes to. */
export type DynamicLayer = "perBroker" | "clusterDefault";

function multiply(value: string, factor: number | undefined): string {
  return factor === undefined ? value : (BigInt(value) * BigInt(factor)).toString();
}

export class BrokerSettings {
  readonly perBroker = new Map<string, string>();
  readonly clusterDefault = new Map<string, string>();

  constructor(readonly config: BrokerConfig) {}

  restore(stored: StoredBrokerConfigs | undefined): void {
    if (stored === undefined) return;
    for (const [name, value] of Object.entries(stored.perBroker)) this.perBroker.set(name, value);
    for (const [name, value] of Object.entries(stored.clusterDefault)) this.clusterDefault.set(name, value);
  }

  toStored(): StoredBrokerConfigs {
    return { perBroker: Object.fromEntries(this.perBroker), clusterDefault: Object.fromEntries(this.clusterDefault) };
  }

  layer(layer: DynamicLayer): Map<string, string> {
    return layer === "perBroker" ? this.perBroker : this.clusterDefault;
  }

  /** The value Sluice was started with, when it is not Kafka's default (so it counts as set, like server.properties). */
  private staticValue(definition: SluiceBrokerConfigDefinition | undefined): string | null {
    if (definition?.fromFlags === undefined) return null;
    const value = definition.fromFlags(this.config);
    return value === definition.defaultValue ? null : value;
  }

  /** Every layer that sets a broker config, most specific first; the default last when it is not null. */
  brokerSynonyms(name: string): ConfigSynonym[] {
    const definition = BROKER_CONFIGS.get(name);
    const synonyms: ConfigSynonym[] = [];
    const perBroker = this.perBroker.get(name);
    if (perBroker !== undefined) {
      synonyms.push({ name, value: perBroker, source: ConfigSourceCode.DYNAMIC_BROKER_CONFIG });
    }
    const clusterDefault = this.clusterDefault.get(name);
    if (clusterDefault !== undefined) {
      synonyms.push({ name, value: clusterDefault, source: ConfigSourceCode.DYNAMIC_DEFAULT_BROKER_CONFIG });
    }
    const fromFlags = this.staticValue(definition);
    if (fromFlags !== null) synonyms.push({ name, value: fromFlags, source: ConfigSourceCode.STATIC_BROKER_CONFIG });
    if (definition !== undefined && definition.defaultValue !== null) {
      synonyms.push({ name, value: definition.defaultValue, source: ConfigSourceCode.DEFAULT_CONFIG });
    }
    return synonyms;
  }

  broker(name: string): ResolvedConfig {
    const synonyms = this.brokerSynonyms(name);
    const first = synonyms[0];
    return first === undefined
      ? { value: null, source: ConfigSourceCode.DEFAULT_CONFIG, synonyms }
      : { value: first.value, source: first.source, synonyms };
  }

  /** A topic config's effective value, where it comes from and every layer behind it. */
  topic(overrides: ReadonlyMap<string, string>, name: string): ResolvedConfig {
    const definition = TOPIC_CONFIGS.get(name);
    if (definition === undefined) throw new Error(`unknown topic config ${name}`);
    const synonyms: ConfigSynonym[] = [];
    const override = overrides.get(name);
    if (override !== undefined) synonyms.push({ name, value: override, source: ConfigSourceCode.TOPIC_CONFIG });
    let resolved: { value: string; source: number } | null =
      override === undefined ? null : { value: override, source: ConfigSourceCode.TOPIC_CONFIG };
    // Like Kafka, a set synonym wins over a defaulted one: log.retention.ms set at any layer beats the hours default.
    let defaulted: { value: string; source: number } | null = null;
    for (const synonym of definition.brokerSynonyms) {
      for (const layer of this.brokerSynonyms(synonym.name)) {
        synonyms.push(layer);
        if (layer.value === null) continue;
        const value = { value: multiply(layer.value, synonym.factor), source: layer.source };
        if (layer.source === ConfigSourceCode.DEFAULT_CONFIG) defaulted ??= value;
        else resolved ??= value;
      }
    }
    resolved ??= defaulted ?? { value: definition.defaultValue ?? "", source: ConfigSourceCode.DEFAULT_CONFIG };
    return { value: resolved.value, source: resolved.source, synonyms };
  }

  topicValue(overrides: ReadonlyMap<string, string>, name: string): string {
    return this.topic(overrides, name).value ?? "";
  }
}
