// Client quotas as Kafka stores them: per entity (a user, a client id, both, or an IP address; a null name is that
// type's default) a set of numeric limits under Kafka's keys, kept across restarts. enforcer.ts throttles clients
// by the byte-rate and request-percentage quotas; connection_creation_rate and controller_mutation_rate are stored
// and reported only.

/** The entity types and, for each, the quota keys Kafka accepts. */
export const QUOTA_KEYS_BY_ENTITY: ReadonlyMap<string, readonly string[]> = new Map([
  ["user", ["producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"]],
  ["client-id", ["producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"]],
  ["ip", ["connection_creation_rate"]],
]);
/** Kafka's MatchType codes in DescribeClientQuotas components. */
export const QuotaMatch = { EXACT: 0, DEFAULT: 1, SPECIFIED: 2 } as const;
/** Entities one broker keeps quotas for. */
export const QUOTA_ENTITIES_MAX = 100_000;

export interface QuotaEntityPart {
  entityType: string;
  entityName: string | null;
}

export interface StoredQuota {
  entity: QuotaEntityPart[];
  values: Record<string, number>;
}

export interface QuotaChange {
  key: string;
  value: number;
  remove: boolean;
}

export interface QuotaComponent {
  entityType: string;
  matchType: number;
  match: string | null;
}

function keyOf(entity: readonly QuotaEntityPart[]): string {
  return JSON.stringify([...entity].sort((a, b) => (a.entityType < b.entityType ? -1 : 1)));
}

/** Why an entity cannot carry quotas, or null. */
export function entityProblem(entity: readonly QuotaEntityPart[]): string | null {
  if (entity.length === 0) return "Invalid empty client quota entity";
  const types = entity.map((part) => part.entityType);
  if (new Set(types).size !== types.length) return "Duplicate entity type in the client quota entity";
  for (const type of types) if (!QUOTA_KEYS_BY_ENTITY.has(type)) return `Unhandled client quota entity type: ${type}`;
  if (types.includes("ip") && types.length > 1) return "Invalid quota entity combination: ip goes alone";
  return null;
}

export function changeProblem(entity: readonly QuotaEntityPart[], change: QuotaChange): string | null {
  const allowed = new Set(entity.flatMap((part) => QUOTA_KEYS_BY_ENTITY.get(part.entityType) ?? []));
  if (!allowed.has(change.key)) return `Invalid configuration key ${change.key}`;
  if (!change.remove && !(change.value > 0)) return `Quota ${change.key} must be greater than 0`;
  return null;
}

export class QuotaStore {
  private readonly entries = new Map<string, StoredQuota>();

  constructor(private readonly persist: () => void) {}

  restore(stored: readonly StoredQuota[] | undefined): void {
    for (const entry of stored ?? []) this.entries.set(keyOf(entry.entity), entry);
  }

  toStored(): StoredQuota[] {
    return [...this.entries.values()];
  }

  get size(): number {
    return this.entries.size;
  }

  /** Applies checked changes to one entity; an entity left without values is forgotten. */
  apply(entity: readonly QuotaEntityPart[], changes: readonly QuotaChange[]): void {
    const key = keyOf(entity);
    const entry = this.entries.get(key) ?? { entity: entity.map((part) => ({ ...part })), values: {} };
    for (const change of changes) {
      if (change.remove) delete entry.values[change.key];
      else entry.values[change.key] = change.value;
    }
    if (Object.keys(entry.values).length === 0) this.entries.delete(key);
    else this.entries.set(key, entry);
    this.persist();
  }

  /** The values stored for exactly this entity, if any. */
  valuesOf(entity: readonly QuotaEntityPart[]): Readonly<Record<string, number>> | undefined {
    return this.entries.get(keyOf(entity))?.values;
  }

  has(entity: readonly QuotaEntityPart[]): boolean {
    return this.entries.has(keyOf(entity));
  }

  /** The entries the components match; strict keeps only entities with exactly those entity types. */
  describe(components: readonly QuotaComponent[], strict: boolean): StoredQuota[] {
    return [...this.entries.values()].filter((entry) => {
      for (const component of components) {
        const part = entry.entity.find((each) => each.entityType === component.entityType);
        if (part === undefined) return false;
        if (component.matchType === QuotaMatch.EXACT && part.entityName !== component.match) return false;
        if (component.matchType === QuotaMatch.DEFAULT && part.entityName !== null) return false;
        if (component.matchType === QuotaMatch.SPECIFIED && part.entityName === null) return false;
      }
      return !strict || entry.entity.length === components.length;
    });
  }
}
