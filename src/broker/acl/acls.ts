// ACLs as Kafka's authorizer keeps and applies them: bindings of (resource type, name, literal or prefixed pattern)
// to (principal, host, operation, allow or deny). A request is allowed for a super user; otherwise a matching DENY
// wins, then a matching ALLOW (ALL covers every operation, and READ, WRITE, DELETE or ALTER imply DESCRIBE,
// ALTER_CONFIGS implies DESCRIBE_CONFIGS); a resource no ACL names is open only with allow.everyone.if.no.acl.found.

/** Kafka's ResourceType codes. */
export const AclResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

/** Kafka's PatternType codes. */
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;

/** Kafka's AclOperation codes. */
export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;

/** Kafka's AclPermissionType codes. */
export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The one name a CLUSTER resource has. */
export const CLUSTER_RESOURCE_NAME = "kafka-cluster";
export const WILDCARD = "*";
export const WILDCARD_PRINCIPAL = "User:*";
/** ACL bindings one broker keeps; creating more is refused. */
export const ACL_BINDINGS_MAX = 100_000;

export interface AclBinding {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

export interface AclFilter {
  resourceType: number;
  resourceName: string | null;
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
}

export interface AuthorizerSettings {
  superUsers: readonly string[];
  allowEveryoneIfNoAclFound: boolean;
}

const IMPLIES_DESCRIBE: readonly number[] = [
  AclOperation.READ,
  AclOperation.WRITE,
  AclOperation.DELETE,
  AclOperation.ALTER,
  AclOperation.DESCRIBE,
];

function keyOf(binding: AclBinding): string {
  return JSON.stringify([
    binding.resourceType,
    binding.resourceName,
    binding.patternType,
    binding.principal,
    binding.host,
    binding.operation,
    binding.permissionType,
  ]);
}

function inRange(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

/** Why a binding cannot be created, in Kafka's words, or null when it can. */
export function bindingProblem(binding: AclBinding): string | null {
  if (!inRange(binding.resourceType, AclResourceType.TOPIC, AclResourceType.USER)) {
    return `Invalid resource type ${binding.resourceType}: an ACL names a topic, group, cluster, transactional id, delegation token or user`;
  }
  if (binding.patternType !== PatternType.LITERAL && binding.patternType !== PatternType.PREFIXED) {
    return `Invalid pattern type ${binding.patternType}: an ACL's pattern is LITERAL or PREFIXED`;
  }
  if (binding.resourceName.length === 0) return "Resource name must not be empty";
  if (binding.resourceType === AclResourceType.CLUSTER && binding.resourceName !== CLUSTER_RESOURCE_NAME) {
    return `The only valid name for the CLUSTER resource is ${CLUSTER_RESOURCE_NAME}`;
  }
  if (!inRange(binding.operation, AclOperation.ALL, AclOperation.DESCRIBE_TOKENS)) {
    return `Invalid operation ${binding.operation}`;
  }
  if (binding.permissionType !== AclPermission.ALLOW && binding.permissionType !== AclPermission.DENY) {
    return `Invalid permission type ${binding.permissionType}`;
  }
  const colon = binding.principal.indexOf(":");
  if (colon <= 0 || colon === binding.principal.length - 1) {
    return `Could not parse principal from \`${binding.principal}\` (no colon is found separating the principal type from the principal name)`;
  }
  if (binding.host.length === 0) return "Host must not be empty; use * for every host";
  return null;
}

/** Why a filter cannot be used, or null. */
export function filterProblem(filter: AclFilter): string | null {
  if (!inRange(filter.resourceType, AclResourceType.ANY, AclResourceType.USER)) {
    return `Invalid resource type filter ${filter.resourceType}`;
  }
  if (!inRange(filter.patternType, PatternType.ANY, PatternType.PREFIXED)) {
    return `Invalid pattern type filter ${filter.patternType}`;
  }
  if (!inRange(filter.operation, AclOperation.ANY, AclOperation.DESCRIBE_TOKENS)) {
    return `Invalid operation filter ${filter.operation}`;
  }
  if (!inRange(filter.permissionType, AclPermission.ANY, AclPermission.ALLOW)) {
    return `Invalid permission type filter ${filter.permissionType}`;
  }
  return null;
}

/** Whether a binding's pattern covers a resource of that name: literal (or the * wildcard) or prefixed. */
function patternCovers(binding: AclBinding, resourceName: string): boolean {
  if (binding.patternType === PatternType.PREFIXED) return resourceName.startsWith(binding.resourceName);
  return binding.resourceName === resourceName || binding.resourceName === WILDCARD;
}

export function filterMatches(filter: AclFilter, binding: AclBinding): boolean {
  if (filter.resourceType !== AclResourceType.ANY && filter.resourceType !== binding.resourceType) return false;
  if (filter.patternType === PatternType.MATCH) {
    if (filter.resourceName !== null && !patternCovers(binding, filter.resourceName)) return false;
  } else {
    if (filter.patternType !== PatternType.ANY && filter.patternType !== binding.patternType) return false;
    if (filter.resourceName !== null && filter.resourceName !== binding.resourceName) return false;
  }
  if (filter.principal !== null && filter.principal !== binding.principal) return false;
  if (filter.host !== null && filter.host !== binding.host) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== binding.operation) return false;
  return filter.permissionType === AclPermission.ANY || filter.permissionType === binding.permissionType;
}

function operationCovers(granted: number, requested: number, permission: number): boolean {
  if (granted === requested || granted === AclOperation.ALL) return true;
  // Implications widen what an ALLOW grants; a DENY denies only what it names (or ALL).
  if (permission !== AclPermission.ALLOW) return false;
  if (requested === AclOperation.DESCRIBE) return IMPLIES_DESCRIBE.includes(granted);
  return requested === AclOperation.DESCRIBE_CONFIGS && granted === AclOperation.ALTER_CONFIGS;
}

export class AclStore {
  private readonly bindings = new Map<string, AclBinding>();

  constructor(
    readonly settings: AuthorizerSettings,
    private readonly persist: () => void,
  ) {}

  get size(): number {
    return this.bindings.size;
  }

  restore(stored: readonly AclBinding[] | undefined): void {
    for (const binding of stored ?? []) this.bindings.set(keyOf(binding), { ...binding });
  }

  toStored(): AclBinding[] {
    return [...this.bindings.values()];
  }

  /** Adds the bindings (an existing one is kept once); call after checking each with bindingProblem. */
  add(bindings: readonly AclBinding[]): void {
    for (const binding of bindings) this.bindings.set(keyOf(binding), { ...binding });
    if (bindings.length > 0) this.persist();
  }

  describe(filter: AclFilter): AclBinding[] {
    return [...this.bindings.values()].filter((binding) => filterMatches(filter, binding));
  }

  /** Removes every binding each filter matches; answers, per filter, what it removed. */
  remove(filters: readonly AclFilter[]): AclBinding[][] {
    const removed = filters.map((filter) => this.describe(filter));
    for (const bindings of removed) for (const binding of bindings) this.bindings.delete(keyOf(binding));
    if (removed.some((bindings) => bindings.length > 0)) this.persist();
    return removed;
  }

  /** Kafka's authorizer decision for one principal, from one host, doing one operation on one resource. */
  authorize(principal: string, host: string, operation: number, resourceType: number, resourceName: string): boolean {
    if (this.settings.superUsers.includes(principal)) return true;
    const applying = [...this.bindings.values()].filter(
      (binding) => binding.resourceType === resourceType && patternCovers(binding, resourceName),
    );
    if (applying.length === 0) return this.settings.allowEveryoneIfNoAclFound;
    const concerns = (binding: AclBinding) =>
      (binding.principal === principal || binding.principal === WILDCARD_PRINCIPAL) &&
      (binding.host === WILDCARD || binding.host === host) &&
      operationCovers(binding.operation, operation, binding.permissionType);
    if (applying.some((binding) => binding.permissionType === AclPermission.DENY && concerns(binding))) return false;
    return applying.some((binding) => binding.permissionType === AclPermission.ALLOW && concerns(binding));
  }
}
