// The public API of the sluice package: the embeddable broker, the store and the service toolkit.

export { startBroker, type RunningBroker, type StartBrokerOptions } from "./broker/index.js";
export type { BrokerConfig, FaultAction, FaultRule, FlushMode, SaslMechanism } from "./broker/index.js";
export { openDatabase, runMigrations, type OpenDatabaseOptions } from "./store/index.js";
export { listParkedOutboxRows, requeueParkedOutboxRows, type ParkedOutboxRow } from "./store/index.js";
export * from "./toolkit/index.js";
