// ListGroups (key 16), versions 0–4. Every group on this broker with its protocol type; v4 adds each group's state
// and a filter by state (case-insensitive, as Kafka's state names are parsed).
// Leaves out: v5's filter by group type (every group here is a classic group).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  ListGroupsRequestSchema,
  ListGroupsResponseSchema,
  type ListGroupsRequest,
  type ListGroupsResponse,
} from "../../kafka/protocol/messages/index.js";
import { authorized } from "../acl/authorize.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { defineHandler } from "./handler.js";

export default defineHandler<ListGroupsRequest, ListGroupsResponse>({
  apiKey: 16,
  name: "ListGroups",
  versions: [0, 4],
  requestSchema: ListGroupsRequestSchema,
  responseSchema: ListGroupsResponseSchema,
  handle(ctx, request) {
    const { groups } = ctx.broker;
    const refused = groups.refusal();
    if (refused !== null) return { throttleTimeMs: 0, errorCode: refused, groups: [] };
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      groups: groups
        .listGroups(request.statesFilter)
        .filter(
          (group) =>
            authorized(ctx, AclOperation.DESCRIBE, AclResourceType.CLUSTER, "kafka-cluster") ||
            authorized(ctx, AclOperation.DESCRIBE, AclResourceType.GROUP, group.groupId),
        )
        .map((group) => ({
          groupId: group.groupId,
          protocolType: group.protocolType,
          groupState: group.state,
        })),
    };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, groups: [] };
  },
});
