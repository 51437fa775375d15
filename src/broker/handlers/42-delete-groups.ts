// DeleteGroups (key 42), versions 0–2. Deletes groups that have no members, with their committed offsets; a group
// with members is NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND. The answer waits until the deletion is on
// disk.
// Leaves out: nothing.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  DeleteGroupsRequestSchema,
  DeleteGroupsResponseSchema,
  type DeleteGroupsRequest,
  type DeleteGroupsResponse,
} from "../../kafka/protocol/messages/index.js";
import { authorized } from "../acl/authorize.js";
import { AclOperation, AclResourceType } from "../acl/acls.js";
import { defineHandler } from "./handler.js";

export default defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
  apiKey: 42,
  name: "DeleteGroups",
  versions: [0, 2],
  requestSchema: DeleteGroupsRequestSchema,
  responseSchema: DeleteGroupsResponseSchema,
  async handle(ctx, request) {
    const { groups, logger } = ctx.broker;
    const allowed = (groupId: string) => authorized(ctx, AclOperation.DELETE, AclResourceType.GROUP, groupId);
    const deleted = groups.deleteGroups(request.groupsNames.filter(allowed));
    const results = request.groupsNames.map(
      (groupId) =>
        deleted.find((result) => result.groupId === groupId) ?? {
          groupId,
          errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
        },
    );
    if (results.some((result) => result.errorCode === ErrorCode.NONE)) {
      try {
        await groups.sync();
      } catch (error) {
        logger.error({ err: error }, "group deletions could not be written to disk");
        for (const result of results) {
          if (result.errorCode === ErrorCode.NONE) result.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        }
      }
    }
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, results: request.groupsNames.map((groupId) => ({ groupId, errorCode })) };
  },
});
