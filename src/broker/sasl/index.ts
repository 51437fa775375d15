// What the rest of the broker uses from SASL: the per-connection functions the server and the two handlers call,
// and the user store the broker prepares at start.

export { SaslAuthenticationError } from "./errors.js";
export { SASL_TOKEN_BYTES_MAX, type SaslServerExchange, type SaslStepResult } from "./exchange.js";
export { createSaslServer, type SaslServerOptions } from "./mechanisms.js";
export { handleRawSaslToken, type SaslFrameResult } from "./raw.js";
export {
  expectsRawSaslToken,
  isAllowedBeforeAuthentication,
  mustCloseAfterResponse,
  needsAuthentication,
  PRE_AUTHENTICATION_API_KEYS,
  saslAuthenticate,
  saslHandshake,
} from "./session.js";
export {
  SaslUserStore,
  saslUserStoreFor,
  SCRAM_ITERATIONS,
  SUPPORTED_SASL_MECHANISMS,
  type SaslUsersConfig,
} from "./user-store.js";
