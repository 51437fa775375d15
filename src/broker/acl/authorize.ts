// The check handlers make before acting on a resource: the connection's principal (User:<SASL name>, or
// User:ANONYMOUS without SASL), from its host, against the broker's ACLs. Without an authorizer everything passes.

import type { HandlerContext } from "../handlers/handler.js";
import { AclOperation, AclResourceType, CLUSTER_RESOURCE_NAME } from "./acls.js";

export const ANONYMOUS_PRINCIPAL = "User:ANONYMOUS";

export function principalOf(ctx: HandlerContext): string {
  return ctx.connection.principal === null ? ANONYMOUS_PRINCIPAL : `User:${ctx.connection.principal}`;
}

/** The client's address as Kafka names hosts in ACLs: an IPv4 address without its IPv6 mapping prefix. */
export function hostOf(ctx: HandlerContext): string {
  return ctx.connection.remoteAddress.replace(/^::ffff:/, "");
}

export function authorized(
  ctx: HandlerContext,
  operation: number,
  resourceType: number,
  resourceName: string,
): boolean {
  const { acls } = ctx.broker;
  if (acls === null) return true;
  return acls.authorize(principalOf(ctx), hostOf(ctx), operation, resourceType, resourceName);
}

export function clusterAuthorized(ctx: HandlerContext, operation: number): boolean {
  return authorized(ctx, operation, AclResourceType.CLUSTER, CLUSTER_RESOURCE_NAME);
}

/** The check AlterConfigs and IncrementalAlterConfigs make per resource: ALTER_CONFIGS on the topic or cluster. */
export function mayAlterConfigs(ctx: HandlerContext): (resourceType: number, resourceName: string) => boolean {
  return (resourceType, resourceName) =>
    resourceType === AclResourceType.TOPIC
      ? authorized(ctx, AclOperation.ALTER_CONFIGS, AclResourceType.TOPIC, resourceName)
      : clusterAuthorized(ctx, AclOperation.ALTER_CONFIGS);
}
