// Wordium, Sluice's second reference app: auth, users, posts and notifications services that talk only through
// topics, with live posts, follows and broadcasts in the browser over the WebSocket gateway.

export * from "./topics.js";
export * from "./manifest.js";
export * from "./auth-service.js";
export * from "./users-service.js";
export * from "./posts-service.js";
export * from "./notifications-service.js";
