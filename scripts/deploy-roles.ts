// The roles as deployments see them: every role `sluice up --only` offers except the broker (a StatefulSet of its
// own, written by hand), with what a container or pod of it needs. Read by scripts/gen-deploy.ts and test/deploy.

import { APPS } from "../src/apps/catalogue.js";
import { SYSTEM_ROLES, UP_ROLES } from "../src/cli/up/roles.js";

export const NAMESPACE = "sluice";
/** Pinned to the package's version, so that a rollout is a change of this tag (update-code.sh builds it). */
export const IMAGE = "sluice:0.1.0";
/** The port every role's HTTP server (and its probes and metrics) listens on in a container. */
export const HTTP_PORT = 8080;

export interface DeploymentRole {
  readonly name: string;
  readonly app: string | null;
  readonly http: boolean;
  /** Ingress path prefixes served by this role (empty: not exposed). */
  readonly ingressPaths: readonly string[];
  /** Host port docker compose publishes the role's HTTP port on, or null. */
  readonly composeHostPort: number | null;
  readonly usesRedis: boolean;
  /** Ports the role serves besides the HTTP port (the registry's REST API), each exposed by its Service. */
  readonly extraPorts: ReadonlyArray<{ name: string; port: number }>;
  /** The topics its app declares (ACLs cover each one's retry and dead-letter topics by prefix). */
  readonly topics: readonly string[];
  /** Its app's consumer groups start with this. */
  readonly groupPrefix: string;
  readonly replicasMax: number;
  readonly resources: { requests: Record<string, string>; limits: Record<string, string> };
}

const DEFAULT_RESOURCES = { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } };
const DEFAULT_REPLICAS_MAX = 4;

/** What differs from the defaults, by role; a role not listed here gets them. */
const ROLE_SETTINGS: Readonly<Record<string, Partial<Omit<DeploymentRole, "name" | "app" | "http" | "topics">>>> = {
  api: { ingressPaths: ["/"], composeHostPort: 8080 },
  registry: { ingressPaths: [], extraPorts: [{ name: "registry", port: 8081 }] },
  // Wordium's page and /api/auth go to its auth role (its first); each other service answers its own part of the API.
  "wordium-users": { ingressPaths: ["/wordium/api/users"] },
  "wordium-posts": { ingressPaths: ["/wordium/api/posts"] },
  "wordium-notifications": { ingressPaths: ["/wordium/api/notifications"] },
  // The console's audit log and overview history live in its process, so one replica shows them all.
  console: { replicasMax: 1 },
};

/** The system's own roles other than the broker, which are not in an app's manifest. */
const SYSTEM_DEPLOYMENT_ROLES: Readonly<Record<string, { http: boolean }>> = {
  // The registry answers on --registry-port rather than the gateway's port, so it gets no ingress path here.
  registry: { http: false },
  console: { http: true },
};

export async function deploymentRoles(): Promise<DeploymentRole[]> {
  const roles: DeploymentRole[] = [];
  for (const name of UP_ROLES) {
    if (name === "broker") continue;
    const settings = ROLE_SETTINGS[name] ?? {};
    const app = APPS.find((candidate) => candidate.roles.some((role) => role.name === name));
    if (app === undefined) {
      const system = SYSTEM_DEPLOYMENT_ROLES[name];
      if (system === undefined || !(SYSTEM_ROLES as readonly string[]).includes(name)) {
        throw new Error(`role ${name}: add it to SYSTEM_DEPLOYMENT_ROLES in scripts/deploy-roles.ts`);
      }
      roles.push({
        name,
        app: null,
        http: system.http,
        ingressPaths: settings.ingressPaths ?? [`/${name}`],
        composeHostPort: settings.composeHostPort ?? null,
        usesRedis: settings.usesRedis ?? false,
        extraPorts: settings.extraPorts ?? [],
        topics: [],
        groupPrefix: settings.groupPrefix ?? `sluice-${name}`,
        replicasMax: settings.replicasMax ?? DEFAULT_REPLICAS_MAX,
        resources: settings.resources ?? DEFAULT_RESOURCES,
      });
      continue;
    }
    const role = app.roles.find((candidate) => candidate.name === name);
    if (role === undefined) throw new Error(`role ${name} vanished from ${app.name}`);
    const firstHttpRole = app.roles.find((candidate) => candidate.http)?.name;
    const implementation = await app.load();
    roles.push({
      name,
      app: app.name,
      http: role.http,
      ingressPaths: settings.ingressPaths ?? (firstHttpRole === name ? [`/${app.name}`] : []),
      composeHostPort: settings.composeHostPort ?? null,
      usesRedis: settings.usesRedis ?? false,
      extraPorts: settings.extraPorts ?? [],
      topics: implementation.topics.map((topic) => topic.name),
      groupPrefix: settings.groupPrefix ?? app.name,
      replicasMax: settings.replicasMax ?? DEFAULT_REPLICAS_MAX,
      resources: settings.resources ?? DEFAULT_RESOURCES,
    });
  }
  return roles;
}

/**
 * Where roles find each other's HTTP APIs when each runs in its own container or pod: the jobs board's gateway
 * forwards to its services at JOBS_<SERVICE>_URL. hostOf names a role's host (its compose service or its Service).
 */
export function roleAddressVariables(
  roles: readonly DeploymentRole[],
  hostOf: (role: string) => string,
  httpPort: number,
): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const role of roles) {
    if (role.app !== "jobs" || !role.http || !role.name.startsWith("jobs-") || role.name === "jobs-gateway") continue;
    const service = role.name.slice("jobs-".length).toUpperCase();
    variables[`JOBS_${service}_URL`] = `http://${hostOf(role.name)}:${httpPort}`;
  }
  return variables;
}
