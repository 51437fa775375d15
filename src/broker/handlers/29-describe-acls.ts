// DescribeAcls (key 29), versions 0–3. Lists the ACLs a filter matches (ANY matches every value; the MATCH pattern
// type finds every binding that covers the named resource, literal, wildcard or prefixed), grouped by resource.
// Needs DESCRIBE on the cluster; without an authorizer the broker answers SECURITY_DISABLED, as Kafka does.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  DescribeAclsRequestSchema,
  DescribeAclsResponseSchema,
  type DescribeAclsRequest,
  type DescribeAclsResponse,
} from "../../kafka/protocol/messages/index.js";
import type { DescribeAclsResource } from "../../kafka/protocol/messages/describe-acls-response.js";
import { AclOperation, filterProblem } from "../acl/acls.js";
import { clusterAuthorized } from "../acl/authorize.js";
import { NO_AUTHORIZER_MESSAGE } from "./30-create-acls.js";
import { defineHandler } from "./handler.js";

export default defineHandler<DescribeAclsRequest, DescribeAclsResponse>({
  apiKey: 29,
  name: "DescribeAcls",
  versions: [0, 3],
  requestSchema: DescribeAclsRequestSchema,
  responseSchema: DescribeAclsResponseSchema,
  handle(ctx, request) {
    const { acls } = ctx.broker;
    const refuse = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      resources: [],
    });
    if (acls === null) return refuse(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER_MESSAGE);
    if (!clusterAuthorized(ctx, AclOperation.DESCRIBE)) {
      return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "describing ACLs needs DESCRIBE on the cluster");
    }
    const filter = {
      resourceType: request.resourceTypeFilter,
      resourceName: request.resourceNameFilter,
      patternType: request.patternTypeFilter,
      principal: request.principalFilter,
      host: request.hostFilter,
      operation: request.operation,
      permissionType: request.permissionType,
    };
    const problem = filterProblem(filter);
    if (problem !== null) return refuse(ErrorCode.INVALID_REQUEST, problem);
    const resources = new Map<string, DescribeAclsResource>();
    for (const binding of acls.describe(filter)) {
      const key = JSON.stringify([binding.resourceType, binding.resourceName, binding.patternType]);
      let resource = resources.get(key);
      if (resource === undefined) {
        resource = {
          resourceType: binding.resourceType,
          resourceName: binding.resourceName,
          patternType: binding.patternType,
          acls: [],
        };
        resources.set(key, resource);
      }
      resource.acls.push({
        principal: binding.principal,
        host: binding.host,
        operation: binding.operation,
        permissionType: binding.permissionType,
      });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: [...resources.values()] };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, errorMessage: null, resources: [] };
  },
});
