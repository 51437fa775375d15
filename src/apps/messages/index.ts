// The message board, Sluice's first reference app: an HTTP API and web page that accept messages through the
// outbox, a worker that stores them idempotently, and live updates over the WebSocket gateway.

export * from "./message.js";
export * from "./topics.js";
export * from "./messages-sql.js";
export * from "./routes.js";
export * from "./worker.js";
export * from "./migrations.js";
