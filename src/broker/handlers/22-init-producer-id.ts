// InitProducerId (key 22), versions 0–4. An idempotent producer gets a fresh id at epoch 0; one that sends back the
// id and epoch it holds (v3+, KIP-360, as librdkafka does to recover from a sequence error) gets the same id with the
// epoch bumped; at the epoch limit, or for an id/epoch this broker does not recognise, it gets a fresh id instead.
// With a transactional id the transaction coordinator answers (txn/coordinator.ts): the id keeps its producer id and
// each new instance bumps the epoch, fencing the old one and aborting its open transaction; a v3+ request naming an
// id/epoch the coordinator no longer holds is refused with PRODUCER_FENCED (v4+) or INVALID_PRODUCER_EPOCH.
// Leaves out: v5 (KIP-890's epoch bump per transaction).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  InitProducerIdRequestSchema,
  InitProducerIdResponseSchema,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from "../../kafka/protocol/messages/index.js";
import { defineHandler } from "./handler.js";

const EPOCH_MAX = 32767;

export default defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  apiKey: 22,
  name: "InitProducerId",
  versions: [0, 4],
  requestSchema: InitProducerIdRequestSchema,
  responseSchema: InitProducerIdResponseSchema,
  async handle(ctx, request) {
    const { broker } = ctx;
    if (request.transactionalId !== null) {
      const result = await broker.txns.initProducerId(request.transactionalId, request.transactionTimeoutMs, {
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
        fencedErrorCode: ctx.apiVersion >= 4 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH,
      });
      return {
        throttleTimeMs: 0,
        errorCode: result.errorCode,
        producerId: result.producerId,
        producerEpoch: result.producerEpoch,
      };
    }
    if (request.producerId >= 0 && request.producerEpoch >= 0) {
      const current = broker.producerEpoch(request.producerId);
      if (current === request.producerEpoch && current < EPOCH_MAX) {
        broker.setProducerEpoch(request.producerId, current + 1);
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.NONE,
          producerId: request.producerId,
          producerEpoch: current + 1,
        };
      }
    }
    const producerId = broker.allocateProducerId();
    broker.setProducerEpoch(producerId, 0);
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 };
  },
});
