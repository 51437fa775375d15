// DescribeClientQuotas (key 48), versions 0–1. Lists the stored quotas whose entity the components match (EXACT
// name, DEFAULT entity, any SPECIFIED name); strict keeps only entities made of exactly those types. Needs
// DESCRIBE_CONFIGS on the cluster. Quotas are stored and reported; Sluice does not throttle by them yet.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  DescribeClientQuotasRequestSchema,
  DescribeClientQuotasResponseSchema,
  type DescribeClientQuotasRequest,
  type DescribeClientQuotasResponse,
} from "../../kafka/protocol/messages/index.js";
import { AclOperation } from "../acl/acls.js";
import { clusterAuthorized } from "../acl/authorize.js";
import { QUOTA_KEYS_BY_ENTITY, QuotaMatch } from "../quotas/quotas.js";
import { defineHandler } from "./handler.js";

export default defineHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse>({
  apiKey: 48,
  name: "DescribeClientQuotas",
  versions: [0, 1],
  requestSchema: DescribeClientQuotasRequestSchema,
  responseSchema: DescribeClientQuotasResponseSchema,
  handle(ctx, request) {
    const refuse = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      entries: null,
    });
    if (!clusterAuthorized(ctx, AclOperation.DESCRIBE_CONFIGS)) {
      return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "describing quotas needs DESCRIBE_CONFIGS on the cluster");
    }
    const types = request.components.map((component) => component.entityType);
    if (new Set(types).size !== types.length) {
      return refuse(ErrorCode.INVALID_REQUEST, "Duplicate entity type in the filter");
    }
    for (const component of request.components) {
      if (!QUOTA_KEYS_BY_ENTITY.has(component.entityType)) {
        return refuse(ErrorCode.INVALID_REQUEST, `Unhandled client quota entity type: ${component.entityType}`);
      }
      if (component.matchType < QuotaMatch.EXACT || component.matchType > QuotaMatch.SPECIFIED) {
        return refuse(ErrorCode.INVALID_REQUEST, `Unknown match type ${component.matchType}`);
      }
    }
    const entries = ctx.broker.quotas.describe(request.components, request.strict).map((entry) => ({
      entity: entry.entity.map((part) => ({ entityType: part.entityType, entityName: part.entityName })),
      values: Object.entries(entry.values).map(([key, value]) => ({ key, value })),
    }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, errorMessage: null, entries: null };
  },
});
