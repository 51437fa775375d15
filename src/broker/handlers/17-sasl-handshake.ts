// SaslHandshake (key 17), versions 0–1. Chooses the connection's mechanism among the enabled ones (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512). After version 0 the client's tokens follow as raw frames (KIP-43, read by the server
// through sasl/raw.ts); after version 1 they come in SaslAuthenticate requests (KIP-152). An unsupported mechanism,
// SASL switched off, or a second handshake before authentication is answered and then the connection is closed, as
// Kafka does; a handshake after authentication gets ILLEGAL_SASL_STATE and the connection stays. Leaves out: GSSAPI,
// OAUTHBEARER and re-authentication (KIP-368; the session lifetime is unlimited).

import { KAFKA_ERRORS } from "../../kafka/protocol/error-codes.js";
import {
  SaslHandshakeRequestSchema,
  SaslHandshakeResponseSchema,
  type SaslHandshakeRequest,
  type SaslHandshakeResponse,
} from "../../kafka/protocol/messages/index.js";
import { SaslAuthenticationError } from "../sasl/errors.js";
import { mustCloseAfterResponse, saslHandshake } from "../sasl/session.js";
import { saslUserStoreFor } from "../sasl/user-store.js";
import { defineHandler } from "./handler.js";

export default defineHandler<SaslHandshakeRequest, SaslHandshakeResponse>({
  apiKey: 17,
  name: "SaslHandshake",
  versions: [0, 1],
  requestSchema: SaslHandshakeRequestSchema,
  responseSchema: SaslHandshakeResponseSchema,
  handle(ctx, request) {
    const { sasl } = ctx.broker.config;
    const users = sasl === null ? null : saslUserStoreFor(sasl);
    const response = saslHandshake(ctx.connection, users, request.mechanism, ctx.apiVersion);
    if (mustCloseAfterResponse(ctx.connection)) {
      const reason = KAFKA_ERRORS.get(response.errorCode)?.message ?? `error ${response.errorCode}`;
      throw new SaslAuthenticationError(`SaslHandshake for ${JSON.stringify(request.mechanism)}: ${reason}`, response);
    }
    return response;
  },
  errorResponse(_request, errorCode) {
    return { errorCode, mechanisms: [] };
  },
});
