// The AMQP transport's public API.

export * from "./client.js";
export * from "./options.js";
export { AMQP_KEY_HEADER, AMQP_NULL_VALUE_HEADER } from "./message.js";
export { isRetryTier, DELAY_QUEUE_SUFFIX, DUE_EXCHANGE_SUFFIX } from "./topology.js";
