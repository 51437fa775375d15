// The gateway's public surface: the HTTP server, its error catalogue, readiness checks, metrics and authentication.
// (The WebSocket gateway adds its exports here too; keep this a plain list of export lines.)

export * from "./server.js";
export * from "./errors.js";
export * from "./readiness.js";
export * from "./metrics.js";
export * from "./auth/auth.js";
export * from "./auth/tokens.js";
export * from "./auth/passwords.js";
export * from "./websocket/index.js";
