// DeleteAcls (key 31), versions 0–3. Removes every ACL each filter matches and answers, per filter, the bindings it
// removed. Needs ALTER on the cluster; without an authorizer the broker answers SECURITY_DISABLED, as Kafka does.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  DeleteAclsRequestSchema,
  DeleteAclsResponseSchema,
  type DeleteAclsRequest,
  type DeleteAclsResponse,
} from "../../kafka/protocol/messages/index.js";
import type { DeleteAclsFilterResult } from "../../kafka/protocol/messages/delete-acls-response.js";
import { AclOperation, filterProblem, type AclFilter } from "../acl/acls.js";
import { clusterAuthorized } from "../acl/authorize.js";
import { NO_AUTHORIZER_MESSAGE } from "./30-create-acls.js";
import { defineHandler } from "./handler.js";

export default defineHandler<DeleteAclsRequest, DeleteAclsResponse>({
  apiKey: 31,
  name: "DeleteAcls",
  versions: [0, 3],
  requestSchema: DeleteAclsRequestSchema,
  responseSchema: DeleteAclsResponseSchema,
  handle(ctx, request) {
    const { acls } = ctx.broker;
    const all = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      filterResults: request.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    });
    if (acls === null) return all(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER_MESSAGE);
    if (!clusterAuthorized(ctx, AclOperation.ALTER)) {
      return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "deleting ACLs needs ALTER on the cluster");
    }
    const filters: AclFilter[] = request.filters.map((filter) => ({
      resourceType: filter.resourceTypeFilter,
      resourceName: filter.resourceNameFilter,
      patternType: filter.patternTypeFilter,
      principal: filter.principalFilter,
      host: filter.hostFilter,
      operation: filter.operation,
      permissionType: filter.permissionType,
    }));
    const problems = filters.map(filterProblem);
    const removed = acls.remove(filters.filter((_filter, i) => problems[i] === null));
    let next = 0;
    const filterResults = problems.map((problem): DeleteAclsFilterResult => {
      if (problem !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, matchingAcls: [] };
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        matchingAcls: removed[next++]!.map((binding) => ({
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          ...binding,
        })),
      };
    });
    return { throttleTimeMs: 0, filterResults };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      filterResults: request.filters.map(() => ({ errorCode, errorMessage: null, matchingAcls: [] })),
    };
  },
});
