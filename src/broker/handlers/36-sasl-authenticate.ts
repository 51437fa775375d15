// SaslAuthenticate (key 36), versions 0–2 (1 adds session_lifetime_ms, always 0 here: sessions do not expire; 2 is
// flexible). Feeds the client's token to the exchange SaslHandshake v1 started and returns the server's token; the
// last step names the connection's principal. A failed exchange is answered with SASL_AUTHENTICATION_FAILED and its
// reason, and then the connection is closed, as Kafka does. A request after authentication gets ILLEGAL_SASL_STATE
// and the connection stays. Leaves out: re-authentication (KIP-368).

import {
  SaslAuthenticateRequestSchema,
  SaslAuthenticateResponseSchema,
  type SaslAuthenticateRequest,
  type SaslAuthenticateResponse,
} from "../../kafka/protocol/messages/index.js";
import { SaslAuthenticationError } from "../sasl/errors.js";
import { mustCloseAfterResponse, saslAuthenticate } from "../sasl/session.js";
import { defineHandler } from "./handler.js";

export default defineHandler<SaslAuthenticateRequest, SaslAuthenticateResponse>({
  apiKey: 36,
  name: "SaslAuthenticate",
  versions: [0, 2],
  requestSchema: SaslAuthenticateRequestSchema,
  responseSchema: SaslAuthenticateResponseSchema,
  handle(ctx, request) {
    const response = saslAuthenticate(ctx.connection, request.authBytes);
    if (mustCloseAfterResponse(ctx.connection)) {
      throw new SaslAuthenticationError(response.errorMessage ?? "SASL authentication failed", response);
    }
    return response;
  },
  errorResponse(_request, errorCode) {
    return { errorCode, errorMessage: null, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
  },
});
