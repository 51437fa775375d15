// Version negotiation: after ApiVersions, each API is spoken at the highest version that both this client and the
// broker support. An API the broker does not list, or whose range does not meet ours, is unusable on that broker,
// and calling it fails with an error that names both ranges.

import type { VersionRange } from "../../protocol/schema.js";
import { KafkaUnsupportedApiError } from "../errors.js";
import type { ApiDefinition } from "./definitions.js";

/** The broker's advertised range per API key. */
export type BrokerApiRanges = ReadonlyMap<number, VersionRange>;

/** The highest version inside both ranges, or null when they do not meet. */
export function highestCommonVersion(client: VersionRange, broker: VersionRange | undefined): number | null {
  if (broker === undefined) return null;
  const version = Math.min(client[1], broker[1]);
  return version >= Math.max(client[0], broker[0]) ? version : null;
}

export class NegotiatedVersions {
  private readonly chosen = new Map<number, number | null>();

  /**
   * `caps` lowers this client's highest version per API key: for brokers that advertise versions they serve badly,
   * and for tests that exercise older versions.
   */
  constructor(
    readonly broker: BrokerApiRanges,
    private readonly caps: ReadonlyMap<number, number> = new Map(),
  ) {}

  /** The version to use for `api`, or null when the broker does not support any version this client speaks. */
  versionOrNull(api: ApiDefinition<unknown, unknown>): number | null {
    let version = this.chosen.get(api.apiKey);
    if (version === undefined) {
      const cap = this.caps.get(api.apiKey);
      const client: VersionRange = cap === undefined ? api.versions : [api.versions[0], Math.min(api.versions[1], cap)];
      version = highestCommonVersion(client, this.broker.get(api.apiKey));
      this.chosen.set(api.apiKey, version);
    }
    return version;
  }

  supports(api: ApiDefinition<unknown, unknown>): boolean {
    return this.versionOrNull(api) !== null;
  }

  /** The version to use for `api`; throws KafkaUnsupportedApiError when there is none. */
  version(api: ApiDefinition<unknown, unknown>): number {
    const version = this.versionOrNull(api);
    if (version !== null) return version;
    const range = this.broker.get(api.apiKey);
    throw new KafkaUnsupportedApiError(
      api.name,
      range === undefined
        ? `the broker does not support ${api.name} (API key ${api.apiKey}); this client needs it for this operation`
        : `the broker supports ${api.name} versions ${range[0]}–${range[1]}, this client ${api.versions[0]}–${api.versions[1]}; upgrade the broker or the client`,
    );
  }
}
