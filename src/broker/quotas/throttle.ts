// Applying the client quotas to one answered request: which usage each API records, and what a throttled response
// looks like (throttle_time_ms set; a fetch over its byte quota answered without records).

import type { FetchResponse } from "../../kafka/protocol/messages/index.js";
import type { ConnectionInfo } from "../handlers/handler.js";
import type { QuotaEnforcer } from "./enforcer.js";

const API_KEY_PRODUCE = 0;
const API_KEY_FETCH = 1;
/** As in Kafka, the APIs a client needs to connect and authenticate are never throttled by request_percentage. */
const REQUEST_QUOTA_EXEMPT: ReadonlySet<number> = new Set([17, 18, 36]);
const EMPTY = Buffer.alloc(0);

export interface AnsweredRequest {
  apiKey: number;
  requestBytes: number;
  /** The encoded response's size; 0 when there is none (acks=0). */
  responseBytes: number;
  /** Time the broker spent handling the request, its waits excluded. */
  handlerMs: number;
  /** The response about to be sent, or null; changed in place when the client is throttled. */
  response: unknown;
}

/** Records the request's usage and returns how long to throttle the client (0 for not at all). */
export function throttleAfter(enforcer: QuotaEnforcer, connection: ConnectionInfo, answered: AnsweredRequest): number {
  const { principal: user, clientId } = connection;
  let throttleMs = 0;
  if (answered.apiKey === API_KEY_PRODUCE) {
    throttleMs = enforcer.record("producer_byte_rate", user, clientId, answered.requestBytes);
  } else if (answered.apiKey === API_KEY_FETCH && answered.response !== null) {
    throttleMs = enforcer.record("consumer_byte_rate", user, clientId, answered.responseBytes);
    if (throttleMs > 0) {
      enforcer.unrecord("consumer_byte_rate", user, clientId, answered.responseBytes);
      for (const topic of (answered.response as FetchResponse).responses) {
        for (const partition of topic.partitions) partition.records = EMPTY;
      }
    }
  }
  if (!REQUEST_QUOTA_EXEMPT.has(answered.apiKey)) {
    throttleMs = Math.max(throttleMs, enforcer.record("request_percentage", user, clientId, answered.handlerMs));
  }
  if (throttleMs > 0 && typeof answered.response === "object" && answered.response !== null) {
    (answered.response as { throttleTimeMs?: number }).throttleTimeMs = throttleMs;
  }
  return throttleMs;
}
