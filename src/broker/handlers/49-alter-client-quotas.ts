// AlterClientQuotas (key 49), versions 0–1. Sets or removes quota values per entity (user, client-id, both, or ip;
// a null name is the type's default), each entity checked and answered on its own; validateOnly checks only.
// Needs ALTER_CONFIGS on the cluster. Values are stored and reported; Sluice does not throttle by them yet.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  AlterClientQuotasRequestSchema,
  AlterClientQuotasResponseSchema,
  type AlterClientQuotasRequest,
  type AlterClientQuotasResponse,
} from "../../kafka/protocol/messages/index.js";
import { AclOperation } from "../acl/acls.js";
import { clusterAuthorized } from "../acl/authorize.js";
import { changeProblem, entityProblem, QUOTA_ENTITIES_MAX } from "../quotas/quotas.js";
import { defineHandler } from "./handler.js";

export default defineHandler<AlterClientQuotasRequest, AlterClientQuotasResponse>({
  apiKey: 49,
  name: "AlterClientQuotas",
  versions: [0, 1],
  requestSchema: AlterClientQuotasRequestSchema,
  responseSchema: AlterClientQuotasResponseSchema,
  handle(ctx, request) {
    const { quotas } = ctx.broker;
    const allowed = clusterAuthorized(ctx, AclOperation.ALTER_CONFIGS);
    const entries = request.entries.map((entry) => {
      const answer = (errorCode: number, errorMessage: string | null) => ({
        errorCode,
        errorMessage,
        entity: entry.entity,
      });
      if (!allowed) {
        return answer(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "changing quotas needs ALTER_CONFIGS on the cluster");
      }
      const problem =
        entityProblem(entry.entity) ?? entry.ops.map((op) => changeProblem(entry.entity, op)).find((p) => p !== null);
      if (problem !== null && problem !== undefined) return answer(ErrorCode.INVALID_REQUEST, problem);
      const keys = entry.ops.map((op) => op.key);
      if (new Set(keys).size !== keys.length) return answer(ErrorCode.INVALID_REQUEST, "Duplicate quota key");
      if (!quotas.has(entry.entity) && quotas.size >= QUOTA_ENTITIES_MAX) {
        return answer(
          ErrorCode.POLICY_VIOLATION,
          `this broker keeps quotas for at most ${QUOTA_ENTITIES_MAX} entities`,
        );
      }
      if (!request.validateOnly) quotas.apply(entry.entity, entry.ops);
      return answer(ErrorCode.NONE, null);
    });
    return { throttleTimeMs: 0, entries };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      entries: request.entries.map((entry) => ({ errorCode, errorMessage: null, entity: entry.entity })),
    };
  },
});
