// FindCoordinator (key 10), versions 0–4. This broker coordinates every group and every transactional id, so a
// group key (type 0) or transaction key (type 1) is answered with its own advertised address. v4 batches keys
// (`coordinatorKeys`) and answers one entry per key.
// Leaves out: v5–6 (KIP-890, share groups).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  FindCoordinatorRequestSchema,
  FindCoordinatorResponseSchema,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
} from "../../kafka/protocol/messages/index.js";
import type { Coordinator } from "../../kafka/protocol/messages/find-coordinator-response.js";
import { authorized } from "../acl/authorize.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { defineHandler } from "./handler.js";

export const COORDINATOR_KEY_TYPE_GROUP = 0;
export const COORDINATOR_KEY_TYPE_TRANSACTION = 1;

function failed(key: string, errorCode: number, errorMessage: string | null): Required<Coordinator> {
  return { key, nodeId: -1, host: "", port: -1, errorCode, errorMessage };
}

export default defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
  apiKey: 10,
  name: "FindCoordinator",
  versions: [0, 4],
  requestSchema: FindCoordinatorRequestSchema,
  responseSchema: FindCoordinatorResponseSchema,
  handle(ctx, request) {
    const address = ctx.broker.advertisedAddress();
    const find = (key: string): Required<Coordinator> => {
      if (request.keyType === COORDINATOR_KEY_TYPE_TRANSACTION) {
        if (!authorized(ctx, AclOperation.DESCRIBE, AclResourceType.TRANSACTIONAL_ID, key)) {
          return failed(
            key,
            ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            `finding the coordinator of transactional id ${key} needs DESCRIBE on it`,
          );
        }
      } else if (request.keyType !== COORDINATOR_KEY_TYPE_GROUP) {
        return failed(key, ErrorCode.INVALID_REQUEST, `unknown coordinator key type ${request.keyType}`);
      } else if (!authorized(ctx, AclOperation.DESCRIBE, AclResourceType.GROUP, key)) {
        return failed(key, ErrorCode.GROUP_AUTHORIZATION_FAILED, `finding group ${key} needs DESCRIBE on it`);
      }
      return { key, ...address, errorCode: ErrorCode.NONE, errorMessage: null };
    };
    if (ctx.apiVersion >= 4) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        nodeId: -1,
        host: "",
        port: -1,
        coordinators: request.coordinatorKeys.map(find),
      };
    }
    const { errorCode, errorMessage, nodeId, host, port } = find(request.key);
    return { throttleTimeMs: 0, errorCode, errorMessage, nodeId, host, port, coordinators: [] };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      errorCode,
      errorMessage: null,
      nodeId: -1,
      host: "",
      port: -1,
      coordinators: request.coordinatorKeys.map((key) => failed(key, errorCode, null)),
    };
  },
});
