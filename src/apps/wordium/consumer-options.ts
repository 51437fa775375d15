// What Wordium's consumers are made from: the role's client and database, and the toolkit's consumer settings, which
// `sluice up` sets from its own (the session timeout) and tests shorten or give crash hooks.

import type { ConsumerOptions, Database, KafkaClient, TopicDefinition } from "../../toolkit/index.js";

export type WordiumConsumerOptions = { client: KafkaClient; db: Database } & Partial<
  Pick<
    ConsumerOptions<readonly TopicDefinition<unknown>[]>,
    "retry" | "sessionTimeoutMs" | "heartbeatIntervalMs" | "rebalanceTimeoutMs" | "fetchWaitMs" | "hooks" | "logger"
  >
>;
