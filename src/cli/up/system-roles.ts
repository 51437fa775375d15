// One app role of `sluice up` as a part of the system: the role's parts are built once its service's database is
// open, and run as a toolkit service of their own.

import { hostname } from "node:os";

import type { Logger } from "pino";

import type { RoleParts } from "../../apps/app.js";
import { componentReadinessCheck } from "../../gateway/readiness.js";
import type { Database } from "../../store/index.js";
import { createService, OutboxRelay, type Component, type KafkaClient, type Service } from "../../toolkit/index.js";
import type { Environment } from "../args.js";
import type { UpConfig } from "./config.js";
import type { RunningRole, SystemAddresses, SystemState } from "./system-state.js";

/**
 * One role: its parts are built once the database is open, and its components run as a toolkit service of their
 * own (started in order, stopped in reverse, the half-started ones stopped again on a failure), which is one part of
 * the system's service.
 */
export function addRole(
  config: UpConfig,
  running: RunningRole,
  env: Environment,
  state: SystemState,
  addresses: SystemAddresses,
  logger: Logger,
  components: Component[],
): void {
  const { app, implementation, role } = running;
  const roleLogger = logger.child({ part: role.name });
  let roleService: Service | null = null;
  components.push({
    name: `role ${role.name}`,
    get ready() {
      return roleService?.ready ?? false;
    },
    async start() {
      const database = role.service === null ? null : (state.services.get(role.service) as Database);
      const kafka = state.kafka as KafkaClient;
      const transport = state.transport ?? kafka;
      const parts: RoleParts = await implementation.startRole(role.name, {
        app: app.name,
        role: role.name,
        database,
        kafka,
        transport,
        registryUrl: addresses.registry,
        auth: state.auth,
        settings: config,
        env,
        logger: roleLogger,
        outboxRelay: (options = {}) => {
          if (database === null) throw new Error(`role ${role.name} has no service, so no outbox to relay`);
          // An identity that a restart keeps (a container's host name and process id usually stay the same), so that
          // a relay restarting after a crash takes back its own rows at once rather than when their leases end.
          return new OutboxRelay({
            db: database,
            client: transport,
            name: `${role.service}-relay`,
            relayId: `${hostname()}-${process.pid}-${role.service}`,
            logger: roleLogger,
            ...options,
          });
        },
      });
      if (parts.routes !== undefined) state.routes.push({ app, plugin: parts.routes });
      const roleComponents = parts.components ?? [];
      for (const component of roleComponents) {
        const checkName = roleComponents.length === 1 ? role.name : `${role.name}.${component.name}`;
        state.readinessChecks.push(componentReadinessCheck(component, checkName));
      }
      roleService = createService({
        name: `role ${role.name}`,
        components: roleComponents,
        signals: [],
        exitProcess: false,
        shutdownTimeoutMs: config.shutdownTimeoutMs,
        logger: roleLogger,
      });
      await roleService.start();
    },
    async stop() {
      if ((await roleService?.stop()) === false) throw new Error(`role ${role.name} did not stop cleanly; see the log`);
      logger.info({ part: role.name }, `${role.name} stopped`);
    },
  });
}
