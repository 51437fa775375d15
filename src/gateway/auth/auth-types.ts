// What the rest of the gateway sees of authentication: the modes and the Auth object's shape, apart from auth.ts
// so that the account routes can take an Auth without importing the code that builds one.

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";

import type { AuthenticatedUser, IssuedToken } from "./tokens.js";

export const AUTH_MODES = ["off", "optional", "required"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export type AuthPreHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface SignedIn extends AuthenticatedUser, IssuedToken {}

export interface Auth {
  readonly mode: AuthMode;
  /** The user a token names; throws a 401 GatewayError otherwise (always, when mode is "off"). */
  verifyToken(token: string): Promise<AuthenticatedUser>;
  /** Creates an account and signs it in; 409 when the username is taken. */
  register(username: unknown, password: unknown): Promise<SignedIn>;
  /** Signs in; 401 for an unknown user or a wrong password, without saying which. */
  login(username: unknown, password: unknown): Promise<SignedIn>;
  /** A preHandler that applies authMode: sets request.user, refusing requests as the mode says. */
  readonly requireAuth: AuthPreHandler;
  /** A preHandler that refuses any request without a valid token, whatever the mode. */
  readonly requireUser: AuthPreHandler;
  /** A preHandler that refuses any request without a valid token granting the role (403 with one). */
  requireRole(role: string): AuthPreHandler;
  /**
   * Signs a token for a user an app knows (its own accounts, with its own roles), accepted wherever this auth's
   * tokens are: by every app, the WebSocket gateway and other processes that share the secret.
   */
  issueToken(user: AuthenticatedUser, ttlSeconds?: number): Promise<IssuedToken>;
  /** The routes POST /api/auth/register, POST /api/auth/login and GET /api/auth/me (none when mode is "off"). */
  readonly routes: FastifyPluginAsync;
}
