// Which roles a `sluice up` process runs: the system's own (the broker) and every app's, as `--apps` and `--only`
// select them, and where each service's tables live. Read from the apps' manifests, so no app code is loaded.

import type { AppManifest, AppRoleManifest } from "../../apps/app.js";
import { serviceDatabaseUrlVariable } from "../../apps/app.js";
import { APPS } from "../../apps/catalogue.js";
import { isPostgresUrl } from "../../store/index.js";
import { closestName } from "../args.js";
import { CliError } from "../command.js";

/** Roles that belong to the system rather than to an app. */
export const SYSTEM_ROLES = ["broker", "registry", "console"] as const;
export type SystemRole = (typeof SYSTEM_ROLES)[number];

export const APP_NAMES: readonly string[] = APPS.map((app) => app.name);
/** Every role --only accepts, the system's first. */
export const UP_ROLES: readonly string[] = [
  ...SYSTEM_ROLES,
  ...APPS.flatMap((app) => app.roles.map((role) => role.name)),
];

export interface RolePlan {
  /** The roles this process runs, in start order: the system's, then each app's in catalogue order. */
  readonly roles: ReadonlySet<string>;
  /** The apps with at least one role here, in catalogue order. */
  readonly apps: readonly AppManifest[];
  /** Services with a database of their own (DATABASE_URL_<SERVICE>), by service name. */
  readonly serviceDatabaseUrls: Readonly<Record<string, string>>;
}

function parseNames(entries: readonly string[], known: readonly string[], what: string): string[] {
  if (entries.length === 0) throw new Error(`name at least one of ${known.join(", ")}`);
  const names: string[] = [];
  for (const entry of entries) {
    if (!known.includes(entry)) {
      const closest = closestName(entry, known);
      const advice = closest === null ? "" : ` (did you mean "${closest}"?)`;
      throw new Error(`"${entry}" is not ${what} ${known.join(", ")}${advice}`);
    }
    if (!names.includes(entry)) names.push(entry);
  }
  return names;
}

export function parseRoles(entries: readonly string[]): string[] {
  return parseNames(entries, UP_ROLES, "one of");
}

export function parseApps(entries: readonly string[]): string[] {
  return parseNames(entries, APP_NAMES, "one of the apps");
}

export function appOfRole(role: string): { app: AppManifest; role: AppRoleManifest } | null {
  for (const app of APPS) {
    const found = app.roles.find((candidate) => candidate.name === role);
    if (found !== undefined) return { app, role: found };
  }
  return null;
}

/** Services given a database of their own in the environment; a malformed URL is an error naming the variable. */
function serviceDatabaseUrls(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const app of APPS) {
    for (const service of app.services) {
      const variable = serviceDatabaseUrlVariable(service.name);
      const url = env[variable];
      if (url === undefined || url === "") continue;
      if (!isPostgresUrl(url)) {
        throw new CliError(`${variable} must be a postgres:// or postgresql:// URL`, `Fix ${variable}, or unset it.`);
      }
      urls[service.name] = url;
    }
  }
  return urls;
}

/**
 * Plans the roles from --only (exactly those roles) or --apps (those apps' roles, with the embedded broker unless
 * KAFKA_BROKERS names a cluster, and the schema registry unless --registry-url names one). PGlite lives inside one process, so the database roles of one app cannot be split
 * across processes unless their services' tables are on a server.
 */
export function planRoles(
  settings: {
    only: readonly string[] | null;
    apps: readonly string[] | null;
    kafkaBrokers: readonly string[] | null;
    databaseUrl: string | null;
    /** An external schema registry; without one, this process runs the registry role. */
    registryUrl?: string | null;
  },
  env: Readonly<Record<string, string | undefined>>,
): RolePlan {
  if (settings.only !== null && settings.apps !== null) {
    throw new CliError(
      "--only and --apps cannot be used together",
      "Use --apps to run whole apps, or --only to run exactly the roles named.",
    );
  }
  const urls = serviceDatabaseUrls(env);
  let roles: string[];
  if (settings.only !== null) {
    roles = [...settings.only];
  } else {
    const appNames = settings.apps ?? APP_NAMES;
    roles = [];
    if (settings.kafkaBrokers === null) roles.push("broker");
    if ((settings.registryUrl ?? null) === null) roles.push("registry");
    roles.push("console");
    for (const app of APPS) if (appNames.includes(app.name)) roles.push(...app.roles.map((role) => role.name));
  }
  const ordered = UP_ROLES.filter((role) => roles.includes(role));
  const apps = APPS.filter((app) => app.roles.some((role) => ordered.includes(role.name)));

  if (settings.databaseUrl === null && settings.only !== null) {
    for (const app of apps) {
      const onPglite = app.roles.filter((role) => role.service !== null && urls[role.service] === undefined);
      const here = onPglite.filter((role) => ordered.includes(role.name));
      if (here.length > 0 && here.length < onPglite.length) {
        const names = onPglite.map((role) => role.name).join(", ");
        throw new CliError(
          `--only ${ordered.join(",")}: the ${names} roles share one database, and without DATABASE_URL that is ` +
            "PGlite, which lives inside a single process",
          "Set DATABASE_URL (or --database-url) to a PostgreSQL server to run the roles as separate processes, or " +
            `run ${names} together.`,
        );
      }
    }
  }
  return { roles: new Set(ordered), apps, serviceDatabaseUrls: urls };
}
