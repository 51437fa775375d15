// AddOffsetsToTxn (key 25), versions 0–3: adds a consumer group to the producer's transaction (Kafka adds the
// group's __consumer_offsets partition), so that offsets sent with TxnOffsetCommit commit or abort with it. Answered
// once durable.
// Leaves out: v4 (KIP-890's TRANSACTION_ABORTABLE).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  AddOffsetsToTxnRequestSchema,
  AddOffsetsToTxnResponseSchema,
  type AddOffsetsToTxnRequest,
  type AddOffsetsToTxnResponse,
} from "../../kafka/protocol/messages/index.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { authorized } from "../acl/authorize.js";
import { fencedErrorCode } from "../txn/errors.js";
import { defineHandler } from "./handler.js";

export default defineHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>({
  apiKey: 25,
  name: "AddOffsetsToTxn",
  versions: [0, 3],
  requestSchema: AddOffsetsToTxnRequestSchema,
  responseSchema: AddOffsetsToTxnResponseSchema,
  async handle(ctx, request) {
    if (!authorized(ctx, AclOperation.READ, AclResourceType.GROUP, request.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    }
    const result = await ctx.broker.txns.addOffsets(
      {
        transactionalId: request.transactionalId,
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
        fencedErrorCode: fencedErrorCode(ctx.apiVersion, 2),
      },
      request.groupId,
    );
    return { throttleTimeMs: 0, errorCode: result.errorCode };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode };
  },
});
