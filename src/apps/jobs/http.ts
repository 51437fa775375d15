// What every jobs service's routes share: paths answered with and without their trailing slash (the team's clients
// write /api/jobs/), reading a JSON body field by field so that a bad one is named in a 400, the signed-in user,
// and ids in paths.

import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from "fastify";

import type { Auth, AuthPreHandler } from "../../gateway/auth/auth.js";
import type { AuthenticatedUser } from "../../gateway/auth/tokens.js";
import { GatewayError, GatewayErrorCode, notFound, unauthorized, validationFailed } from "../../gateway/errors.js";

export const EMPLOYER = "employer";
export const JOB_SEEKER = "job_seeker";
export const USER_TYPES = [EMPLOYER, JOB_SEEKER] as const;
export type UserType = (typeof USER_TYPES)[number];

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

/** Registers a route at `path/` and at `path`, so that both spellings of the team's paths work. */
export function route(
  app: FastifyInstance,
  method: Method,
  path: string,
  preHandler: readonly AuthPreHandler[],
  handler: RouteHandlerMethod,
): void {
  const bare = path.endsWith("/") ? path.slice(0, -1) : path;
  for (const url of [bare, `${bare}/`]) app.route({ method, url, preHandler: [...preHandler], handler });
}

export function forbidden(message: string): GatewayError {
  return new GatewayError(GatewayErrorCode.FORBIDDEN, message);
}

export function conflict(message: string, field?: string): GatewayError {
  return new GatewayError(GatewayErrorCode.CONFLICT, message, field === undefined ? {} : { field });
}

/** The signed-in user; the route's preHandler (auth.requireUser or requireRole) has checked the token. */
export function userOf(request: FastifyRequest): AuthenticatedUser {
  if (request.user === null || request.user === undefined) throw unauthorized("sign in first");
  return request.user;
}

/** The user type a token grants (its role), or null for a token of another app. */
export function userTypeOf(user: AuthenticatedUser): UserType | null {
  return USER_TYPES.find((type) => user.roles.includes(type)) ?? null;
}

/** The auth every jobs role needs: tokens are how its services know who calls. */
export function authOf(auth: Auth | null, role: string): Auth {
  if (auth === null) throw new Error(`role ${role} needs the gateway's authentication (an HTTP server)`);
  return auth;
}

/** A JSON object body, with only the fields named allowed. */
export function bodyOf(request: FastifyRequest, allowed: readonly string[]): Record<string, unknown> {
  const body = request.body;
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw validationFailed("(body)", "the body must be a JSON object");
  }
  for (const field of Object.keys(body)) {
    if (!allowed.includes(field)) {
      throw validationFailed(field, `${field} is not a field here; send ${allowed.join(", ")}`);
    }
  }
  return body as Record<string, unknown>;
}

export function requiredText(fields: Record<string, unknown>, field: string, charsMax: number): string {
  const value = optionalText(fields, field, charsMax);
  if (value === undefined || value === "") throw validationFailed(field, `${field} is required`);
  return value;
}

/** A text field trimmed, or undefined when absent; null counts as the empty text. */
export function optionalText(fields: Record<string, unknown>, field: string, charsMax: number): string | undefined {
  const value = fields[field];
  if (value === undefined) return undefined;
  if (value === null) return "";
  if (typeof value !== "string") throw validationFailed(field, `${field} must be a string`);
  const text = value.trim();
  // PostgreSQL text cannot hold NUL.
  if (text.includes("\u0000")) throw validationFailed(field, `${field} must not contain NUL characters`);
  if ([...text].length > charsMax) throw validationFailed(field, `${field} is longer than ${charsMax} characters`);
  return text;
}

export function optionalBoolean(fields: Record<string, unknown>, field: string): boolean | undefined {
  const value = fields[field];
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw validationFailed(field, `${field} must be true or false`);
  return value;
}

/** A query parameter given at most once. */
export function queryValue(request: FastifyRequest, field: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[field];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw validationFailed(field, `${field} must be given once`);
  return value;
}

export function queryInteger(request: FastifyRequest, field: string, fallback: number, min: number, max: number) {
  const raw = queryValue(request, field);
  if (raw === undefined || raw === "") return fallback;
  const value = /^[0-9]{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max))
    throw validationFailed(field, `${field} must be an integer from ${min} to ${max}`);
  return value;
}

export function queryBoolean(request: FastifyRequest, field: string): boolean | undefined {
  const raw = queryValue(request, field);
  if (raw === undefined || raw === "") return undefined;
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw validationFailed(field, `${field} must be true or false`);
}

/** An id from a path; anything but a UUID is a 404 (no such thing), not a database error. */
export function pathId(request: FastifyRequest, what: string): string {
  const id = (request.params as Record<string, string>).id ?? "";
  if (!UUID_PATTERN.test(id)) throw notFound(`no ${what} ${id}`);
  return id.toLowerCase();
}

export function created(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.status(201).send(body);
}
