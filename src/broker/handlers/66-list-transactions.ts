// ListTransactions (key 66), versions 0–1: the transactional ids the principal may DESCRIBE, with producer id and
// state, filtered by state (names this broker does not know are echoed in unknown_state_filters), by producer id,
// and from v1 by duration (transactions open longer than duration_filter ms; -1 for any).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  ListTransactionsRequestSchema,
  ListTransactionsResponseSchema,
  type ListTransactionsRequest,
  type ListTransactionsResponse,
} from "../../kafka/protocol/messages/index.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { authorized } from "../acl/authorize.js";
import { defineHandler } from "./handler.js";

const KNOWN_STATES = new Set(["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort"]);

export default defineHandler<ListTransactionsRequest, ListTransactionsResponse>({
  apiKey: 66,
  name: "ListTransactions",
  versions: [0, 1],
  requestSchema: ListTransactionsRequestSchema,
  responseSchema: ListTransactionsResponseSchema,
  handle(ctx, request) {
    const states = new Set(request.stateFilters);
    const producerIds = new Set(request.producerIdFilters);
    const nowMs = Date.now();
    const transactionStates = [...ctx.broker.txns.all()]
      .filter(
        (txn) =>
          (states.size === 0 || states.has(txn.state)) &&
          (producerIds.size === 0 || producerIds.has(txn.producerId)) &&
          (request.durationFilter < 0 ||
            (txn.state === "Ongoing" && nowMs - txn.startTimeMs > request.durationFilter)) &&
          authorized(ctx, AclOperation.DESCRIBE, AclResourceType.TRANSACTIONAL_ID, txn.transactionalId),
      )
      .map((txn) => ({
        transactionalId: txn.transactionalId,
        producerId: txn.producerId,
        transactionState: txn.state,
      }));
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      unknownStateFilters: request.stateFilters.filter((state) => !KNOWN_STATES.has(state)),
      transactionStates,
    };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, unknownStateFilters: [], transactionStates: [] };
  },
});
