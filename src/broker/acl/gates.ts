// Checks made before a handler runs, for the APIs whose whole request concerns one resource (a group, the cluster):
// when the principal lacks the operation, the handler's own error response is sent with Kafka's authorization error.
// Per-topic checks, which answer each topic on its own, live in the handlers themselves.

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import type { ApiHandler, HandlerContext } from "../handlers/handler.js";
import { AclOperation, AclResourceType } from "./acls.js";
import { authorized, clusterAuthorized } from "./authorize.js";

/** Returns the error code refusing the request, or null to let the handler run. */
type Gate = (ctx: HandlerContext, request: Record<string, unknown>) => number | null;

function group(operation: number): Gate {
  return (ctx, request) =>
    authorized(ctx, operation, AclResourceType.GROUP, String(request.groupId))
      ? null
      : ErrorCode.GROUP_AUTHORIZATION_FAILED;
}

function cluster(operation: number): Gate {
  return (ctx) => (clusterAuthorized(ctx, operation) ? null : ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
}

/** A transactional request needs WRITE on its transactional id. */
function transactionalIdWrite(field: string): Gate {
  return (ctx, request) =>
    authorized(ctx, AclOperation.WRITE, AclResourceType.TRANSACTIONAL_ID, String(request[field]))
      ? null
      : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
}

/**
 * Kafka allows an idempotent producer IDEMPOTENT_WRITE on the cluster, or WRITE on any topic; a transactional one
 * needs WRITE on its transactional id.
 */
const idempotentWrite: Gate = (ctx, request) => {
  if (request.transactionalId !== null) return transactionalIdWrite("transactionalId")(ctx, request);
  if (clusterAuthorized(ctx, AclOperation.IDEMPOTENT_WRITE)) return null;
  const writesSomewhere = ctx.broker.topics
    .all()
    .some((topic) => authorized(ctx, AclOperation.WRITE, AclResourceType.TOPIC, topic.name));
  return writesSomewhere ? null : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
};

const GATES: ReadonlyMap<number, Gate> = new Map<number, Gate>([
  [8, group(AclOperation.READ)],
  [11, group(AclOperation.READ)],
  [12, group(AclOperation.READ)],
  [13, group(AclOperation.READ)],
  [14, group(AclOperation.READ)],
  [22, idempotentWrite],
  [24, transactionalIdWrite("v3AndBelowTransactionalId")],
  [25, transactionalIdWrite("transactionalId")],
  [26, transactionalIdWrite("transactionalId")],
  [28, transactionalIdWrite("transactionalId")],
  [47, group(AclOperation.DELETE)],
  [50, cluster(AclOperation.DESCRIBE)],
  [51, cluster(AclOperation.ALTER)],
]);

/** The handler, refusing requests its gate does not pass when the broker enforces ACLs. */
export function gated<Request, Response>(handler: ApiHandler<Request, Response>): ApiHandler<Request, Response> {
  const gate = GATES.get(handler.apiKey);
  if (gate === undefined) return handler;
  return {
    ...handler,
    handle(ctx, request) {
      if (ctx.broker.acls !== null) {
        const refused = gate(ctx, request as Record<string, unknown>);
        if (refused !== null) return handler.errorResponse(request, refused);
      }
      return handler.handle(ctx, request);
    },
  };
}
