// DescribeTransactions (key 65), version 0: each transactional id's state (Kafka's names: Empty, Ongoing,
// PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort), timeout, start time (-1 unless a transaction is
// open), producer id and epoch and the partitions in its transaction. An unknown id gets TRANSACTIONAL_ID_NOT_FOUND;
// one the principal may not DESCRIBE, TRANSACTIONAL_ID_AUTHORIZATION_FAILED.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  DescribeTransactionsRequestSchema,
  DescribeTransactionsResponseSchema,
  type DescribeTransactionsRequest,
  type DescribeTransactionsResponse,
} from "../../kafka/protocol/messages/index.js";
import type { TransactionState } from "../../kafka/protocol/messages/describe-transactions-response.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { authorized } from "../acl/authorize.js";
import type { TxnMetadata } from "../txn/coordinator.js";
import { defineHandler } from "./handler.js";

function failed(transactionalId: string, errorCode: number): TransactionState {
  return {
    errorCode,
    transactionalId,
    transactionState: "",
    transactionTimeoutMs: 0,
    transactionStartTimeMs: -1,
    producerId: -1,
    producerEpoch: -1,
    topics: [],
  };
}

function describe(txn: TxnMetadata): TransactionState {
  const topics = new Map<string, number[]>();
  for (const { topic, partition } of txn.partitions.values())
    topics.set(topic, [...(topics.get(topic) ?? []), partition]);
  return {
    errorCode: ErrorCode.NONE,
    transactionalId: txn.transactionalId,
    transactionState: txn.state,
    transactionTimeoutMs: txn.timeoutMs,
    transactionStartTimeMs: txn.state === "Ongoing" || txn.state.startsWith("Prepare") ? txn.startTimeMs : -1,
    producerId: txn.producerId,
    producerEpoch: txn.producerEpoch,
    topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
  };
}

export default defineHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>({
  apiKey: 65,
  name: "DescribeTransactions",
  versions: [0, 0],
  requestSchema: DescribeTransactionsRequestSchema,
  responseSchema: DescribeTransactionsResponseSchema,
  handle(ctx, request) {
    return {
      throttleTimeMs: 0,
      transactionStates: request.transactionalIds.map((transactionalId) => {
        if (!authorized(ctx, AclOperation.DESCRIBE, AclResourceType.TRANSACTIONAL_ID, transactionalId)) {
          return failed(transactionalId, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        }
        const txn = ctx.broker.txns.get(transactionalId);
        return txn === undefined ? failed(transactionalId, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND) : describe(txn);
      }),
    };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, transactionStates: request.transactionalIds.map((id) => failed(id, errorCode)) };
  },
});
