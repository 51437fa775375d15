// The databases of `sluice up`: the base database (PGlite in the data directory, locked against a second process, or
// the server at DATABASE_URL), and each running service's database, a view of the base one in the service's schema or
// a server of its own (DATABASE_URL_<SERVICE>), each migrated before the roles start.

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

import type { Logger } from "pino";

import { serviceSchemaName, type AppServiceManifest } from "../../apps/app.js";
import { databaseReadinessCheck, migrationsReadinessCheck } from "../../gateway/readiness.js";
import { lockDataDir } from "../../platform/data-dir-lock.js";
import { openDatabase, runMigrations, type Database } from "../../store/index.js";
import type { dataPaths, UpConfig } from "./config.js";
import type { AddPart, RunningRole, SystemAddresses, SystemState } from "./system-state.js";

/** The server URL with any password hidden, fit for printing. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "*****";
    return parsed.toString();
  } catch {
    return "postgres://…";
  }
}

export function addBaseDatabase(
  config: UpConfig,
  paths: ReturnType<typeof dataPaths>,
  addresses: SystemAddresses,
  state: SystemState,
  logger: Logger,
  part: AddPart,
): void {
  if (config.databaseUrl === null) {
    let unlock: () => void = () => {};
    part(
      "database lock",
      async () => {
        mkdirSync(dirname(paths.databaseLock), { recursive: true });
        unlock = lockDataDir(paths.database, paths.databaseLock).release;
      },
      async () => unlock(),
    );
  }
  part(
    "database",
    async () => {
      const databaseLogger = logger.child({ part: "database" });
      if (config.databaseUrl === null) {
        state.database = await openDatabase({
          dataDir: paths.database,
          pgliteThread: config.pgliteThread,
          schema: config.databaseSchema,
          logger: databaseLogger,
        });
        addresses.database = `PGlite in ${paths.database}`;
      } else {
        state.database = await openDatabase({
          url: config.databaseUrl,
          schema: config.databaseSchema,
          poolSize: config.databasePoolSize,
          connectTimeoutMs: config.databaseConnectTimeoutMs,
          logger: databaseLogger,
        });
        addresses.database = redactDatabaseUrl(config.databaseUrl);
      }
      state.readinessChecks.push(databaseReadinessCheck(state.database));
    },
    () => state.database?.close() ?? Promise.resolve(),
  );
}

export function addServiceDatabase(
  config: UpConfig,
  service: AppServiceManifest,
  runningRoles: readonly RunningRole[],
  state: SystemState,
  logger: Logger,
  part: AddPart,
): void {
  const ownUrl = config.serviceDatabaseUrls[service.name];
  const running = runningRoles.find((candidate) => candidate.role.service === service.name) as RunningRole;
  const migrations = running.implementation.migrations[service.name] ?? [];
  let own: Database | null = null;
  part(
    `${service.name} database`,
    async () => {
      const databaseLogger = logger.child({ part: "database", service: service.name });
      const schema = service.usesDatabaseSchema === true ? config.databaseSchema : serviceSchemaName(service.name);
      let database: Database;
      if (ownUrl !== undefined) {
        own = await openDatabase({
          url: ownUrl,
          schema,
          poolSize: config.databasePoolSize,
          connectTimeoutMs: config.databaseConnectTimeoutMs,
          logger: databaseLogger,
        });
        database = own;
        state.readinessChecks.push(databaseReadinessCheck(database, `database.${service.name}`));
      } else {
        const base = state.database as Database;
        database = schema === base.schema ? base : base.withSchema(schema);
        if (database !== base) await runMigrations(database, { logger: databaseLogger });
      }
      for (const source of migrations) {
        await runMigrations(database, { ...source, logger: databaseLogger });
      }
      state.services.set(service.name, database);
      const checkName = service.usesDatabaseSchema === true ? "migrations" : `migrations.${service.name}`;
      state.readinessChecks.push(migrationsReadinessCheck(database, [{}, ...migrations], checkName));
    },
    async () => {
      await own?.close();
    },
  );
}
