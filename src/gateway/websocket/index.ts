// The WebSocket gateway's public API.

export { attachWebSocketGateway, type WebSocketGateway, type WebSocketTarget } from "./gateway.js";
export * from "./options.js";
export * from "./topic-access.js";
export {
  DEFAULT_WEBSOCKET_PATH,
  SLUICE_SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
  WebSocketCloseCode,
  WebSocketCloseReason,
  WebSocketErrorCode,
  type WebSocketUser,
} from "./protocol.js";
export type { EventMessage } from "./event-frame.js";
