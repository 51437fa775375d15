// The toolkit's public API: one `export … from` line per module, so that each module's owner edits only its line.

export * from "./errors.js";
export * from "./logger.js";
export * from "./tracing.js";
export * from "./topic.js";
export * from "./serializer.js";
export * from "./schema-registry-client.js";
export * from "./registry-serializers.js";
export * from "./avro-topic.js";
export * from "./event.js";
export * from "./metrics.js";
export * from "./kafka/connection.js";
export * from "./kafka/producer.js";
export * from "./kafka/admin.js";
export * from "./publisher.js";
export * from "./outbox.js";
export * from "./outbox-relay.js";
export * from "./service.js";
export * from "./kafka/consumer.js";
export * from "./retry.js";
export * from "./dead-letter.js";
export * from "./consumer-metrics.js";
export * from "./consumer.js";
export * from "./redrive.js";
export type { Database, DatabaseSession, Queryable } from "../store/database.js";
