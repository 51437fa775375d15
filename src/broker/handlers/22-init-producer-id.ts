// InitProducerId (key 22), versions 0–4, for idempotent producers. A new producer gets a fresh id at epoch 0. A
// producer that sends back the id and epoch it holds (v3+, KIP-360, as librdkafka does to recover from a sequence
// error) gets the same id with the epoch bumped; at the epoch limit, or for an id/epoch this broker does not
// recognise, it gets a fresh id instead.
// Leaves out: transactional ids (transactions are not supported: answered with TRANSACTIONAL_ID_AUTHORIZATION_FAILED).

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
  handle(ctx, request) {
    if (request.transactionalId !== null) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        producerId: -1,
        producerEpoch: -1,
      };
    }
    const { broker } = ctx;
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
