// The error a fenced producer is told: PRODUCER_FENCED from the request version that introduced it (KIP-588),
// INVALID_PRODUCER_EPOCH before it, which older clients treat the same way.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";

export function fencedErrorCode(apiVersion: number, firstVersionWithProducerFenced: number): number {
  return apiVersion >= firstVersionWithProducerFenced ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH;
}
