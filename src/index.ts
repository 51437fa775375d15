// The public API of the sluice package.

export { startBroker, type RunningBroker, type StartBrokerOptions } from "./broker/index.js";
export type { BrokerConfig, FaultAction, FaultRule, FlushMode, SaslMechanism } from "./broker/index.js";
