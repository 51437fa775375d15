// EndTxn (key 26), versions 0–3: commits or aborts the producer's open transaction. The decision is made durable
// (PrepareCommit/PrepareAbort in the transaction log), then a commit or abort marker is written to every partition
// in the transaction (what Kafka's inter-broker WriteTxnMarkers does, here inside the one broker), the transaction's
// offsets are committed or dropped, and the answer goes once the markers are synced. A retried EndTxn of a
// transaction already completed the same way succeeds again.
// Leaves out: v4 (KIP-890's TRANSACTION_ABORTABLE) and v5 (an epoch bump with every transaction).

import {
  EndTxnRequestSchema,
  EndTxnResponseSchema,
  type EndTxnRequest,
  type EndTxnResponse,
} from "../../kafka/protocol/messages/index.js";
import { fencedErrorCode } from "../txn/errors.js";
import { defineHandler } from "./handler.js";

export default defineHandler<EndTxnRequest, EndTxnResponse>({
  apiKey: 26,
  name: "EndTxn",
  versions: [0, 3],
  requestSchema: EndTxnRequestSchema,
  responseSchema: EndTxnResponseSchema,
  async handle(ctx, request) {
    const result = await ctx.broker.txns.endTxn(
      {
        transactionalId: request.transactionalId,
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
        fencedErrorCode: fencedErrorCode(ctx.apiVersion, 2),
      },
      request.committed,
    );
    return { throttleTimeMs: 0, errorCode: result.errorCode };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode };
  },
});
