// The user service: registration, sign-in, refresh tokens kept as sessions (in Redis with REDIS_URL, so that a
// logout revokes a refresh token everywhere), and the profile. Access tokens are the gateway's JWTs, granting the
// user type as a role, so that every service (and the WebSocket gateway) accepts them. Each change publishes a
// user event through the outbox.

import { createHash, randomBytes, randomUUID } from "node:crypto";

import type { FastifyPluginAsync } from "fastify";

import type { Auth } from "../../gateway/auth/auth.js";
import { ADMIN_ROLE } from "../../gateway/auth/auth.js";
import { PasswordHasher } from "../../gateway/auth/passwords.js";
import type { AuthenticatedUser } from "../../gateway/auth/tokens.js";
import {
  GatewayError,
  GatewayErrorCode,
  notFound,
  unauthorized,
  unavailable,
  validationFailed,
} from "../../gateway/errors.js";
import { addToOutbox, isUniqueViolation, type Database, type Queryable } from "../../toolkit/index.js";
import { userEvents, type UserEventData } from "./events.js";
import {
  bodyOf,
  conflict,
  created,
  optionalText,
  requiredText,
  route,
  USER_TYPES,
  userOf,
  type UserType,
} from "./http.js";
import { KeyValueUnavailableError, type KeyValueStore } from "./key-value.js";

export const USERNAME_PATTERN = /^[A-Za-z0-9_.@+-]{3,150}$/;
export const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{1,60}$/;
/** The team's own example password, "test123", has seven characters. */
export const PASSWORD_CHARS_MIN = 6;
export const PASSWORD_CHARS_MAX = 256;
export const PROFILE_TEXT_CHARS_MAX = 150;
export const BIO_CHARS_MAX = 2_000;
/** How long a refresh token stays valid; an access token lives as long as the gateway's tokens do. */
export const REFRESH_TOKEN_TTL_MS = 14 * 24 * 60 * 60 * 1000;
const SESSION_PREFIX = "jobs:session:";

interface UserRow {
  id: string;
  username: string;
  email: string;
  password_hash: string;
  user_type: UserType;
  first_name: string;
  last_name: string;
  bio: string;
  location: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

function publicUser(row: UserRow) {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    user_type: row.user_type,
    first_name: row.first_name,
    last_name: row.last_name,
    bio: row.bio,
    location: row.location,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function eventData(row: UserRow): UserEventData {
  return {
    id: row.id,
    version: row.version,
    username: row.username,
    user_type: row.user_type,
    first_name: row.first_name,
    last_name: row.last_name,
    bio: row.bio,
    location: row.location,
  };
}

const PROFILE_FIELDS = ["email", "first_name", "last_name", "bio", "location"] as const;

function checkEmail(value: string): string {
  if (!EMAIL_PATTERN.test(value)) throw validationFailed("email", "email must be an address such as ann@example.com");
  return value.toLowerCase();
}

function checkPassword(fields: Record<string, unknown>, field: string): string {
  const value = fields[field];
  if (value === undefined || value === null || value === "") throw validationFailed(field, `${field} is required`);
  if (typeof value !== "string") throw validationFailed(field, `${field} must be a string`);
  if (value.length < PASSWORD_CHARS_MIN || value.length > PASSWORD_CHARS_MAX) {
    throw validationFailed(field, `${field} must be ${PASSWORD_CHARS_MIN} to ${PASSWORD_CHARS_MAX} characters long`);
  }
  return value;
}

export interface UsersServiceOptions {
  db: Database;
  auth: Auth;
  sessions: KeyValueStore;
  adminUsers: readonly string[];
}

export function usersRoutes(options: UsersServiceOptions): FastifyPluginAsync {
  const { db, auth, sessions } = options;
  const hasher = new PasswordHasher();
  const admins = new Set(options.adminUsers.map((name) => name.toLowerCase()));

  const tokenUser = (row: UserRow): AuthenticatedUser => ({
    userId: row.id,
    username: row.username,
    roles: admins.has(row.username.toLowerCase()) ? [row.user_type, ADMIN_ROLE] : [row.user_type],
  });

  const sessionKey = (refresh: string) => SESSION_PREFIX + createHash("sha256").update(refresh).digest("hex");

  /** Sessions need the store: without it a refresh token could be neither checked nor revoked. */
  const withSessions = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof KeyValueUnavailableError) {
        throw unavailable(
          "sessions are unreachable for now (Redis); sign-in keeps working, retry this shortly",
          1,
          error,
        );
      }
      throw error;
    }
  };

  const signIn = async (row: UserRow) => {
    const access = await auth.issueToken(tokenUser(row));
    const refresh = randomBytes(32).toString("base64url");
    // A session that cannot be stored leaves the user signed in with an access token and no refresh token.
    let refreshToken: string | null = refresh;
    try {
      await sessions.set(sessionKey(refresh), row.id, REFRESH_TOKEN_TTL_MS);
    } catch (error) {
      if (!(error instanceof KeyValueUnavailableError)) throw error;
      refreshToken = null;
    }
    return { user: publicUser(row), access: access.token, refresh: refreshToken, expires_at: access.expiresAt };
  };

  const selectUser = async (q: Queryable, column: "id" | "username" | "email", value: string) =>
    (await q.query<UserRow>(`SELECT * FROM users WHERE ${column} = $1`, [value])).rows[0] ?? null;

  return async (app) => {
    route(app, "POST", "/api/users/register/", [], async (request, reply) => {
      const fields = bodyOf(request, [
        "username",
        "email",
        "password",
        "password_confirm",
        "user_type",
        ...PROFILE_FIELDS.slice(1),
      ]);
      const username = requiredText(fields, "username", 150);
      if (!USERNAME_PATTERN.test(username)) {
        throw validationFailed("username", "username must be 3 to 150 letters, digits or . @ + - _");
      }
      const email = checkEmail(requiredText(fields, "email", 254));
      const password = checkPassword(fields, "password");
      if (fields.password_confirm !== undefined && fields.password_confirm !== password) {
        throw validationFailed("password_confirm", "password_confirm does not match password");
      }
      const userType = fields.user_type ?? "job_seeker";
      if (!USER_TYPES.includes(userType as UserType)) {
        throw validationFailed("user_type", `user_type must be one of ${USER_TYPES.join(", ")}`);
      }
      const profile = Object.fromEntries(
        PROFILE_FIELDS.slice(1).map((field) => [
          field,
          optionalText(fields, field, field === "bio" ? BIO_CHARS_MAX : PROFILE_TEXT_CHARS_MAX) ?? "",
        ]),
      );
      if ((await selectUser(db, "username", username)) !== null) {
        throw conflict(`the username "${username}" is taken`, "username");
      }
      const passwordHash = await hasher.hash(password);
      let row: UserRow;
      try {
        row = await db.transaction(async (tx) => {
          const inserted = await tx.query<UserRow>(
            `INSERT INTO users (id, username, email, password_hash, user_type, first_name, last_name, bio, location)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
            [
              randomUUID(),
              username,
              email,
              passwordHash,
              userType,
              profile.first_name,
              profile.last_name,
              profile.bio,
              profile.location,
            ],
          );
          const user = inserted.rows[0] as UserRow;
          await addToOutbox(tx, userEvents, { event_type: "user_registered", data: eventData(user) });
          return user;
        });
      } catch (error) {
        if (isUniqueViolation(error, "users_username_key"))
          throw conflict(`the username "${username}" is taken`, "username");
        if (isUniqueViolation(error, "users_email_key"))
          throw conflict(`the email ${email} is already registered`, "email");
        throw error;
      }
      return created(reply, await signIn(row));
    });

    route(app, "POST", "/api/users/login/", [], async (request) => {
      const fields = bodyOf(request, ["username", "email", "password"]);
      const password = fields.password;
      if (typeof password !== "string" || password === "") throw validationFailed("password", "password is required");
      const username = optionalText(fields, "username", 254);
      const email = optionalText(fields, "email", 254);
      if (!username && !email) throw validationFailed("username", "send username (or email) and password");
      const row = username
        ? await selectUser(
            db,
            username.includes("@") ? "email" : "username",
            username.includes("@") ? username.toLowerCase() : username,
          )
        : await selectUser(db, "email", (email as string).toLowerCase());
      const valid =
        row === null
          ? await hasher.verifyDecoy(password.slice(0, PASSWORD_CHARS_MAX))
          : await hasher.verify(password, row.password_hash);
      if (row === null || !valid) {
        throw new GatewayError(GatewayErrorCode.INVALID_CREDENTIALS, "the username or the password is wrong");
      }
      return signIn(row);
    });

    route(app, "POST", "/api/users/token/refresh/", [], async (request) => {
      const refresh = requiredText(bodyOf(request, ["refresh"]), "refresh", 200);
      const userId = await withSessions(() => sessions.get(sessionKey(refresh)));
      const row = userId === null ? null : await selectUser(db, "id", userId);
      if (row === null) throw unauthorized("the refresh token is unknown, expired or logged out; sign in again");
      const access = await auth.issueToken(tokenUser(row));
      return { access: access.token, expires_at: access.expiresAt };
    });

    route(app, "POST", "/api/users/logout/", [], async (request) => {
      const refresh = requiredText(bodyOf(request, ["refresh"]), "refresh", 200);
      await withSessions(() => sessions.delete(sessionKey(refresh)));
      return { status: "logged out" };
    });

    route(app, "GET", "/api/users/me/", [auth.requireUser], async (request) => {
      const row = await selectUser(db, "id", userOf(request).userId);
      if (row === null) throw notFound("your account is not a jobs board account; register at /api/users/register/");
      return publicUser(row);
    });

    route(app, "PATCH", "/api/users/me/", [auth.requireUser], async (request) => {
      const fields = bodyOf(request, PROFILE_FIELDS);
      const changes: Array<[string, string]> = [];
      for (const field of PROFILE_FIELDS) {
        const value = optionalText(
          fields,
          field,
          field === "bio" ? BIO_CHARS_MAX : field === "email" ? 254 : PROFILE_TEXT_CHARS_MAX,
        );
        if (value !== undefined) changes.push([field, field === "email" ? checkEmail(value) : value]);
      }
      if (changes.length === 0) throw validationFailed("(body)", `send at least one of ${PROFILE_FIELDS.join(", ")}`);
      const userId = userOf(request).userId;
      const sets = changes.map(([field], index) => `${field} = $${index + 2}`).join(", ");
      try {
        const row = await db.transaction(async (tx) => {
          const updated = await tx.query<UserRow>(
            `UPDATE users SET ${sets}, version = version + 1, updated_at = now() WHERE id = $1 RETURNING *`,
            [userId, ...changes.map(([, value]) => value)],
          );
          const user = updated.rows[0];
          if (user === undefined) throw notFound("your account is not a jobs board account");
          await addToOutbox(tx, userEvents, { event_type: "user_profile_updated", data: eventData(user) });
          return user;
        });
        return publicUser(row);
      } catch (error) {
        if (isUniqueViolation(error, "users_email_key")) throw conflict("that email is already registered", "email");
        throw error;
      }
    });
  };
}
