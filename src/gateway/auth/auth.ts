// Authentication: accounts with scrypt-hashed passwords in PostgreSQL, JWT access tokens, and the preHandlers that
// routes use. One switch, authMode, decides how much of it applies:
//   "off"      no accounts and no tokens; every request is anonymous (the auth routes are not served);
//   "optional" anonymous requests are served, and a request with a token is served as that user (a bad token is
//              refused, so a client learns that its token expired instead of silently losing its identity);
//   "required" routes guarded by requireAuth refuse requests without a valid token.

import { randomUUID } from "node:crypto";

import type { FastifyRequest } from "fastify";

import type { Database } from "../../store/database.js";
import { execute } from "../../store/sql/statement.js";
import { GatewayError, GatewayErrorCode, unauthorized, validationFailed } from "../errors.js";
import { PasswordHasher, type PasswordHashParameters } from "./passwords.js";
import { authRoutes } from "./routes.js";
import { AUTH_MODES, type Auth, type AuthMode, type AuthPreHandler, type SignedIn } from "./auth-types.js";
import { TokenService, type AuthenticatedUser } from "./tokens.js";
import { insertUser, selectUserByUsername } from "./users-sql.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The signed-in user, set by requireAuth or requireUser; null for anonymous requests. */
    user: AuthenticatedUser | null;
  }
}

export { AUTH_MODES, type Auth, type AuthMode, type AuthPreHandler, type SignedIn } from "./auth-types.js";
/** The embedded default: anyone may use the apps, and users who sign in are known by name. */
export const DEFAULT_AUTH_MODE: AuthMode = "optional";

/** The gateway's own role: what a console admin, or an app's administrator, may do beyond a signed-in user. */
export const ADMIN_ROLE = "admin";

export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/;
export const PASSWORD_CHARS_MIN = 8;
/** Bounds the work a single sign-in can ask of the hash function's input handling. */
export const PASSWORD_CHARS_MAX = 256;

export interface AuthLogger {
  warn(details: object, message: string): void;
}

export interface AuthOptions {
  mode?: AuthMode;
  /** Where accounts are kept (table sluice_users); required unless mode is "off". */
  database?: Database | null;
  /** The token signing secret; see TokenServiceOptions.secret. */
  jwtSecret?: string | null;
  /** Where a generated token secret is kept when jwtSecret is not given. */
  dataDir?: string | null;
  tokenTtlSeconds?: number;
  /** Users given the "admin" role when they sign in (usernames, compared ignoring case). */
  adminUsers?: readonly string[];
  passwordHashing?: Partial<PasswordHashParameters>;
  passwordHashConcurrencyMax?: number;
  passwordHashQueueMax?: number;
  logger?: AuthLogger;
}

/** The token in an `Authorization: Bearer …` header; null when there is no such header. */
export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header === undefined || header === "") return null;
  const match = /^Bearer +([^\s]+) *$/i.exec(header);
  if (match === null) throw unauthorized("the Authorization header must be `Bearer <token>`");
  return match[1] ?? null;
}

function requireString(field: string, value: unknown): string {
  if (value === undefined || value === null) throw validationFailed(field, `${field} is required`);
  if (typeof value !== "string") throw validationFailed(field, `${field} must be a string`);
  return value;
}

function checkUsername(value: unknown): string {
  const username = requireString("username", value);
  if (!USERNAME_PATTERN.test(username)) {
    throw validationFailed(
      "username",
      "username must be 3 to 32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  }
  return username;
}

function checkPassword(value: unknown): string {
  const password = requireString("password", value);
  if (password.length < PASSWORD_CHARS_MIN || password.length > PASSWORD_CHARS_MAX) {
    throw validationFailed(
      "password",
      `password must be ${PASSWORD_CHARS_MIN} to ${PASSWORD_CHARS_MAX} characters long`,
    );
  }
  return password;
}

function invalidCredentials(): GatewayError {
  return new GatewayError(GatewayErrorCode.INVALID_CREDENTIALS, "the username or the password is wrong");
}

const turnedOff = (): Promise<never> =>
  Promise.reject(unauthorized('authentication is turned off on this server (authMode "off")'));

export async function createAuth(options: AuthOptions = {}): Promise<Auth> {
  const mode = options.mode ?? DEFAULT_AUTH_MODE;
  if (!AUTH_MODES.includes(mode)) {
    throw new RangeError(`authMode must be one of ${AUTH_MODES.join(", ")}, got ${JSON.stringify(mode)}`);
  }

  if (mode === "off") {
    const anonymous: AuthPreHandler = async (request) => {
      request.user = null;
    };
    return {
      mode,
      verifyToken: turnedOff,
      register: turnedOff,
      login: turnedOff,
      requireAuth: anonymous,
      requireUser: async () => {
        await turnedOff();
      },
      requireRole: () => async () => {
        await turnedOff();
      },
      issueToken: turnedOff,
      routes: async () => {},
    };
  }

  const database = options.database;
  if (database === undefined || database === null) {
    throw new RangeError(`authMode "${mode}" keeps accounts in the database; pass auth.database`);
  }
  const tokens = await TokenService.create({
    secret: options.jwtSecret,
    dataDir: options.dataDir,
    tokenTtlSeconds: options.tokenTtlSeconds,
    onEphemeralSecret: () =>
      options.logger?.warn(
        {},
        "no jwtSecret and no data directory: tokens are signed with a secret that lives only in this process, " +
          "so they stop working when it restarts and other processes do not accept them",
      ),
  });
  const hasher = new PasswordHasher({
    parameters: options.passwordHashing,
    concurrencyMax: options.passwordHashConcurrencyMax,
    queueMax: options.passwordHashQueueMax,
  });

  const adminUsers = new Set((options.adminUsers ?? []).map((name) => name.toLowerCase()));
  const rolesOf = (username: string): string[] => (adminUsers.has(username.toLowerCase()) ? [ADMIN_ROLE] : []);
  const signIn = async (user: AuthenticatedUser): Promise<SignedIn> => ({ ...user, ...(await tokens.issue(user)) });

  const verifyToken = (token: string): Promise<AuthenticatedUser> => tokens.verify(token);

  const requireUser: AuthPreHandler = async (request) => {
    const token = bearerToken(request);
    if (token === null) {
      throw unauthorized("sign in first: send `Authorization: Bearer <token>` with a token from POST /api/auth/login");
    }
    request.user = await verifyToken(token);
  };

  const requireAuth: AuthPreHandler =
    mode === "required"
      ? requireUser
      : async (request) => {
          const token = bearerToken(request);
          request.user = token === null ? null : await verifyToken(token);
        };

  const auth: Auth = {
    mode,
    verifyToken,
    async register(usernameValue, passwordValue) {
      const username = checkUsername(usernameValue);
      const password = checkPassword(passwordValue);
      const taken = (): GatewayError =>
        new GatewayError(GatewayErrorCode.CONFLICT, `the username "${username}" is taken; choose another`, {
          field: "username",
        });
      // Checked first so that a taken name costs no hashing; the insert below still decides races.
      if ((await execute(database, selectUserByUsername(username))).rows.length > 0) throw taken();
      const userId = randomUUID();
      const inserted = await execute(database, insertUser(userId, username, await hasher.hash(password)));
      if (inserted.rows.length === 0) throw taken();
      return signIn({ userId, username, roles: rolesOf(username) });
    },
    async login(usernameValue, passwordValue) {
      const username = requireString("username", usernameValue);
      const password = requireString("password", passwordValue);
      if (!USERNAME_PATTERN.test(username) || password.length > PASSWORD_CHARS_MAX) {
        await hasher.verifyDecoy(password.slice(0, PASSWORD_CHARS_MAX));
        throw invalidCredentials();
      }
      const row = (await execute(database, selectUserByUsername(username))).rows[0];
      if (row === undefined) {
        await hasher.verifyDecoy(password);
        throw invalidCredentials();
      }
      if (!(await hasher.verify(password, row.password_hash))) throw invalidCredentials();
      return signIn({ userId: row.id, username: row.username, roles: rolesOf(row.username) });
    },
    requireAuth,
    requireUser,
    requireRole(role) {
      return async (request, reply) => {
        await requireUser(request, reply);
        if (!request.user?.roles.includes(role)) {
          throw new GatewayError(GatewayErrorCode.FORBIDDEN, `this needs the "${role}" role, which your account lacks`);
        }
      };
    },
    issueToken: (user, ttlSeconds) => tokens.issue(user, ttlSeconds),
    routes: async (app) => authRoutes(app, auth),
  };
  return auth;
}
