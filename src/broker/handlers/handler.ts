// The contract every API handler file fulfils. A handler reads broker state and changes it synchronously (the one
// serial path); it may return a promise only to wait (long-poll, fsync, a group rebalance), never to interleave a
// half-done state change with another request. It returns a response carrying error codes for anything the client
// did wrong, or throws to have the connection closed.

import type { MessageSchema, VersionRange } from "../../kafka/protocol/schema.js";
import type { Broker } from "../broker.js";

/** What a handler may know and change about the connection its request came on. */
export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  clientId: string | null;
  /** The authenticated SASL user, or null when SASL is off or not yet done. */
  principal: string | null;
  /** The mechanism chosen by SaslHandshake, and the exchange in progress for SaslAuthenticate. */
  saslMechanism: string | null;
  saslExchange: unknown;
}

export interface HandlerContext {
  readonly broker: Broker;
  readonly connection: ConnectionInfo;
  readonly apiVersion: number;
  /** Every API this broker serves, by key: what ApiVersions advertises. */
  readonly handlers: ReadonlyMap<number, ApiHandler>;
}

/** Returned by a handler when the protocol says no response is sent (Produce with acks=0). */
export const NO_RESPONSE = Symbol("no-response");

export interface ApiHandler<Request = unknown, Response = unknown> {
  readonly apiKey: number;
  readonly name: string;
  /** The versions this broker serves and advertises in ApiVersions. */
  readonly versions: VersionRange;
  readonly requestSchema: MessageSchema;
  readonly responseSchema: MessageSchema;
  handle(ctx: HandlerContext, request: Request): Response | typeof NO_RESPONSE | Promise<Response | typeof NO_RESPONSE>;
  /** The response to send when the request fails in a way the handler did not answer itself (an injected fault). */
  errorResponse(request: Request, errorCode: number): Response;
}

export function defineHandler<Request, Response>(
  handler: ApiHandler<Request, Response>,
): ApiHandler<Request, Response> {
  return handler;
}
