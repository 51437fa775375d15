// Wordium's auth service: accounts with hashed passwords in its own schema, signup (the account and its
// user.auth.signup event in one transaction) and login, both answering with a token signed by the gateway's auth,
// so every Wordium service, the WebSocket gateway and other processes sharing the secret accept it.

import type { FastifyPluginAsync } from "fastify";

import {
  ADMIN_ROLE,
  PASSWORD_CHARS_MAX,
  PASSWORD_CHARS_MIN,
  USERNAME_PATTERN,
  type Auth,
} from "../../gateway/auth/auth.js";
import { PasswordHasher } from "../../gateway/auth/passwords.js";
import { GatewayError, GatewayErrorCode, unauthorized, validationFailed } from "../../gateway/errors.js";
import { addToOutbox, isUniqueViolation, newEventId, type Database } from "../../toolkit/index.js";
import { objectBody, type Fields } from "./input.js";
import { EMAIL_CHARS_MAX, userSignedUpTopic } from "./topics.js";

/** Deliberately loose: one @ with something on both sides and a dot in the domain; the mail server decides the rest. */
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface WordiumUser {
  id: string;
  username: string;
  email: string;
}

interface AccountRow {
  id: string;
  username: string;
  email: string;
  password_hash: string;
}

export interface AuthServiceOptions {
  db: Database;
  auth: Auth;
  /** Usernames given the admin role (which may broadcast), compared ignoring case. */
  adminUsers: readonly string[];
  hasher?: PasswordHasher;
}

function stringField(fields: Fields, field: string): string {
  const value = fields[field];
  if (value === undefined || value === null) throw validationFailed(field, `${field} is required`);
  if (typeof value !== "string") throw validationFailed(field, `${field} must be a string`);
  return value;
}

function readSignup(body: unknown): { username: string; email: string; password: string } {
  const fields = objectBody(body);
  const username = stringField(fields, "username");
  if (!USERNAME_PATTERN.test(username)) {
    throw validationFailed(
      "username",
      "username must be 3 to 32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  }
  const email = stringField(fields, "email").trim();
  if (email.length > EMAIL_CHARS_MAX || !EMAIL_PATTERN.test(email)) {
    throw validationFailed(
      "email",
      `email must be an address like ada@example.com, at most ${EMAIL_CHARS_MAX} characters`,
    );
  }
  const password = stringField(fields, "password");
  if (password.length < PASSWORD_CHARS_MIN || password.length > PASSWORD_CHARS_MAX) {
    throw validationFailed(
      "password",
      `password must be ${PASSWORD_CHARS_MIN} to ${PASSWORD_CHARS_MAX} characters long`,
    );
  }
  return { username, email, password };
}

export function authServiceRoutes(options: AuthServiceOptions): FastifyPluginAsync {
  const { db, auth } = options;
  const hasher = options.hasher ?? new PasswordHasher();
  const admins = new Set(options.adminUsers.map((name) => name.toLowerCase()));
  const tokenFor = async (account: WordiumUser) => {
    const roles = admins.has(account.username.toLowerCase()) ? [ADMIN_ROLE] : [];
    return auth.issueToken({ userId: account.id, username: account.username, roles });
  };
  const taken = (field: "username" | "email", value: string) =>
    new GatewayError(GatewayErrorCode.CONFLICT, `the ${field} "${value}" is taken; choose another`, { field });

  return async (app) => {
    app.post("/api/auth/signup", async (request, reply) => {
      const { username, email, password } = readSignup(request.body);
      const existing = await db.query<{ username: string }>(
        "SELECT username FROM accounts WHERE lower(username) = lower($1) OR lower(email) = lower($2)",
        [username, email],
      );
      // Checked first so that a taken name costs no hashing; the unique indexes still decide races.
      const clash = existing.rows[0];
      if (clash !== undefined) {
        throw clash.username.toLowerCase() === username.toLowerCase()
          ? taken("username", username)
          : taken("email", email);
      }
      const passwordHash = await hasher.hash(password);
      const account: WordiumUser = { id: newEventId(), username, email };
      const signedUpAt = new Date();
      try {
        await db.transaction(async (tx) => {
          await tx.query(
            "INSERT INTO accounts (id, username, email, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
            [account.id, username, email, passwordHash, signedUpAt],
          );
          await addToOutbox(
            tx,
            userSignedUpTopic,
            { userId: account.id, username, email, signedUpAt: signedUpAt.toISOString() },
            { time: signedUpAt },
          );
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw taken("username", username);
        throw error;
      }
      const issued = await tokenFor(account);
      return reply.status(201).send({ user: account, token: issued.token, expiresAt: issued.expiresAt.toISOString() });
    });

    app.post("/api/auth/login", async (request) => {
      const fields = objectBody(request.body);
      const username = stringField(fields, "username");
      const password = stringField(fields, "password").slice(0, PASSWORD_CHARS_MAX + 1);
      const { rows } = await db.query<AccountRow>(
        "SELECT id, username, email, password_hash FROM accounts WHERE lower(username) = lower($1)",
        [username.slice(0, EMAIL_CHARS_MAX)],
      );
      const row = rows[0];
      // An unknown user costs as much as a wrong password, so timing does not tell which names exist.
      const valid =
        row === undefined ? await hasher.verifyDecoy(password) : await hasher.verify(password, row.password_hash);
      if (row === undefined || !valid) {
        throw new GatewayError(GatewayErrorCode.INVALID_CREDENTIALS, "the username or the password is wrong");
      }
      const account = { id: row.id, username: row.username, email: row.email };
      const issued = await tokenFor(account);
      return { user: account, token: issued.token, expiresAt: issued.expiresAt.toISOString() };
    });

    app.get("/api/auth/me", { preHandler: auth.requireUser }, async (request) => {
      const user = request.user;
      if (user === null) throw unauthorized("sign in first");
      return { user: { id: user.userId, username: user.username, roles: user.roles } };
    });
  };
}
