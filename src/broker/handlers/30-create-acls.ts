// CreateAcls (key 30), versions 0–3 (v0 knows only literal patterns; v2+ is flexible). Each creation is checked on
// its own and answered in order; the good ones are stored and persisted at once and enforced from the next request.
// Needs ALTER on the cluster; without an authorizer the broker answers SECURITY_DISABLED, as Kafka does.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  CreateAclsRequestSchema,
  CreateAclsResponseSchema,
  type CreateAclsRequest,
  type CreateAclsResponse,
} from "../../kafka/protocol/messages/index.js";
import { ACL_BINDINGS_MAX, AclOperation, bindingProblem, type AclBinding } from "../acl/acls.js";
import { clusterAuthorized } from "../acl/authorize.js";
import { defineHandler } from "./handler.js";

export const NO_AUTHORIZER_MESSAGE = "No Authorizer is configured on the broker";

export default defineHandler<CreateAclsRequest, CreateAclsResponse>({
  apiKey: 30,
  name: "CreateAcls",
  versions: [0, 3],
  requestSchema: CreateAclsRequestSchema,
  responseSchema: CreateAclsResponseSchema,
  handle(ctx, request) {
    const { acls } = ctx.broker;
    const all = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      results: request.creations.map(() => ({ errorCode, errorMessage })),
    });
    if (acls === null) return all(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER_MESSAGE);
    if (!clusterAuthorized(ctx, AclOperation.ALTER)) {
      return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "creating ACLs needs ALTER on the cluster");
    }
    const accepted: AclBinding[] = [];
    const results = request.creations.map((creation) => {
      const binding: AclBinding = { ...creation, patternType: creation.resourcePatternType };
      const problem =
        acls.size + accepted.length >= ACL_BINDINGS_MAX
          ? `this broker keeps at most ${ACL_BINDINGS_MAX} ACLs; delete some first`
          : bindingProblem(binding);
      if (problem !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem };
      accepted.push({
        resourceType: binding.resourceType,
        resourceName: binding.resourceName,
        patternType: binding.patternType,
        principal: binding.principal,
        host: binding.host,
        operation: binding.operation,
        permissionType: binding.permissionType,
      });
      return { errorCode: ErrorCode.NONE, errorMessage: null };
    });
    acls.add(accepted);
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, results: request.creations.map(() => ({ errorCode, errorMessage: null })) };
  },
});
