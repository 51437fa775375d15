// DescribeGroups (key 15), versions 0–5. Each group's state, protocol type and members (client id and host;
// instance id from v4). As in Kafka, the chosen protocol and each member's metadata and assignment are given only
// while the group is Stable, and an unknown group is described as Dead with no members. v3+ report the group
// operations a client may perform when asked: every one, since there are no ACLs.
// Leaves out: v6 (GROUP_ID_NOT_FOUND for unknown groups).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  DescribeGroupsRequestSchema,
  DescribeGroupsResponseSchema,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
} from "../../kafka/protocol/messages/index.js";
import type { DescribedGroup } from "../../kafka/protocol/messages/describe-groups-response.js";
import type { GroupDescription } from "../group/types.js";
import { authorized } from "../acl/authorize.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { defineHandler } from "./handler.js";

/** What the field holds when the client did not ask for authorized operations. */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
/** Kafka's ACL operation codes that apply to a group: READ (3), DELETE (6), DESCRIBE (8). */
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);

const NO_BYTES = Buffer.alloc(0);

function toDescribedGroup(description: GroupDescription, authorizedOperations: number): DescribedGroup {
  const stable = description.state === "Stable";
  return {
    errorCode: ErrorCode.NONE,
    groupId: description.groupId,
    groupState: description.state,
    protocolType: description.protocolType,
    protocolData: stable ? description.protocolName : "",
    members: description.members.map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      clientId: member.clientId,
      clientHost: member.clientHost,
      memberMetadata: stable ? member.metadata : NO_BYTES,
      memberAssignment: stable ? member.assignment : NO_BYTES,
    })),
    authorizedOperations,
  };
}

function failedGroup(groupId: string, errorCode: number): DescribedGroup {
  return {
    errorCode,
    groupId,
    groupState: "",
    protocolType: "",
    protocolData: "",
    members: [],
    authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

export default defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
  apiKey: 15,
  name: "DescribeGroups",
  versions: [0, 5],
  requestSchema: DescribeGroupsRequestSchema,
  responseSchema: DescribeGroupsResponseSchema,
  handle(ctx, request) {
    const { groups } = ctx.broker;
    const refused = groups.refusal();
    if (refused !== null) {
      return { throttleTimeMs: 0, groups: request.groups.map((groupId) => failedGroup(groupId, refused)) };
    }
    const authorizedOperations = request.includeAuthorizedOperations ? GROUP_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED;
    return {
      throttleTimeMs: 0,
      groups: groups
        .describeGroups(request.groups)
        .map((group) =>
          authorized(ctx, AclOperation.DESCRIBE, AclResourceType.GROUP, group.groupId)
            ? toDescribedGroup(group, authorizedOperations)
            : failedGroup(group.groupId, ErrorCode.GROUP_AUTHORIZATION_FAILED),
        ),
    };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, groups: request.groups.map((groupId) => failedGroup(groupId, errorCode)) };
  },
});
