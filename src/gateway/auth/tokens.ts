// Access tokens: JWTs signed with HMAC-SHA256 (jose). The signing secret comes from configuration, or is generated
// once and kept in the data directory so that tokens survive a restart; every process that shares the data
// directory (or the configured secret) accepts the same tokens.

import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { errors as joseErrors, jwtVerify, SignJWT } from "jose";

import { integerOption, resolveInteger } from "../../platform/options.js";
import { unauthorized } from "../errors.js";

/** Who a valid token says the caller is, and the roles it grants (an app's own, or the gateway's "admin"). */
export interface AuthenticatedUser {
  readonly userId: string;
  readonly username: string;
  readonly roles: readonly string[];
}

/** Role names: lower-case words joined by '_' or '-' ("admin", "employer", "job_seeker"). */
export const ROLE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
/** A token carries at most this many roles. */
export const TOKEN_ROLES_MAX = 16;

export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

export const TOKEN_ALGORITHM = "HS256";
export const DEFAULT_TOKEN_ISSUER = "sluice";
export const DEFAULT_TOKEN_TTL_SECONDS = 12 * 60 * 60;
export const TOKEN_TTL_SECONDS_MAX = 30 * 24 * 60 * 60;
/** The declared token lifetime, for the option and for a lifetime asked of one token. */
const TOKEN_TTL_SECONDS = integerOption(DEFAULT_TOKEN_TTL_SECONDS, 1, TOKEN_TTL_SECONDS_MAX);
/** Longer tokens are refused before any parsing; ours are a few hundred characters. */
export const ACCESS_TOKEN_CHARS_MAX = 4096;
/** HS256 needs a key at least as long as its 256-bit output to keep its strength. */
export const JWT_SECRET_BYTES_MIN = 32;
export const GENERATED_SECRET_BYTES = 48;
export const JWT_SECRET_FILE_NAME = "jwt-secret";
const SECRET_FILE_CHARS_MAX = 1024;

export interface TokenServiceOptions {
  /** The signing secret (at least 32 bytes of UTF-8); when absent, one is read from or created in dataDir. */
  secret?: string | null;
  /** Where a generated secret is kept; without it (and without a secret) one lives in memory for this process. */
  dataDir?: string | null;
  issuer?: string;
  tokenTtlSeconds?: number;
  /** Told when the secret is generated in memory, which makes tokens invalid after a restart. */
  onEphemeralSecret?: () => void;
}

function secretFromConfig(secret: string): Uint8Array {
  const bytes = Buffer.from(secret, "utf8");
  if (bytes.length < JWT_SECRET_BYTES_MIN) {
    throw new RangeError(
      `jwtSecret is ${bytes.length} bytes; use at least ${JWT_SECRET_BYTES_MIN} random bytes, for example ` +
        "`openssl rand -base64 48`",
    );
  }
  return bytes;
}

function decodeSecretFile(text: string, path: string): Uint8Array {
  const trimmed = text.trim();
  const bytes = Buffer.from(trimmed, "base64url");
  if (
    trimmed.length > SECRET_FILE_CHARS_MAX ||
    bytes.length < JWT_SECRET_BYTES_MIN ||
    !/^[A-Za-z0-9_-]+$/.test(trimmed)
  ) {
    throw new RangeError(
      `${path} does not hold a usable token secret (base64url, at least ${JWT_SECRET_BYTES_MIN} bytes); ` +
        "delete it to have a new one generated (existing tokens stop working), or fix its contents",
    );
  }
  return bytes;
}

/**
 * Reads the secret kept in dataDir, or creates it. Creation writes a private temporary file and links it into
 * place, which fails when another process got there first; then that process's secret is read instead.
 */
export async function loadOrCreateSecret(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, JWT_SECRET_FILE_NAME);
  try {
    return decodeSecretFile(await readFile(path, "utf8"), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const temporaryPath = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(temporaryPath, `${randomBytes(GENERATED_SECRET_BYTES).toString("base64url")}\n`, {
    mode: 0o600,
    flag: "wx",
  });
  try {
    await link(temporaryPath, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(temporaryPath);
  }
  return decodeSecretFile(await readFile(path, "utf8"), path);
}

function isRoleList(roles: unknown): roles is string[] {
  return (
    Array.isArray(roles) &&
    roles.length <= TOKEN_ROLES_MAX &&
    roles.every((role) => typeof role === "string" && ROLE_PATTERN.test(role))
  );
}

function checkRoles(roles: readonly string[]): void {
  if (!isRoleList(roles)) {
    throw new RangeError(`roles must be at most ${TOKEN_ROLES_MAX} names matching ${String(ROLE_PATTERN)}`);
  }
}

/** A token lifetime: an integer number of seconds from 1 to TOKEN_TTL_SECONDS_MAX. */
function checkTtl(field: string, seconds: number): number {
  return resolveInteger(field, seconds, TOKEN_TTL_SECONDS, (name, message) => new RangeError(`${name} ${message}`));
}

/** Issues and verifies tokens with one secret. */
export class TokenService {
  readonly issuer: string;
  readonly tokenTtlSeconds: number;
  readonly #secret: Uint8Array;

  private constructor(secret: Uint8Array, issuer: string, tokenTtlSeconds: number) {
    this.#secret = secret;
    this.issuer = issuer;
    this.tokenTtlSeconds = tokenTtlSeconds;
  }

  static async create(options: TokenServiceOptions = {}): Promise<TokenService> {
    const tokenTtlSeconds = checkTtl("tokenTtlSeconds", options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS);
    const issuer = options.issuer ?? DEFAULT_TOKEN_ISSUER;
    let secret: Uint8Array;
    if (options.secret !== undefined && options.secret !== null && options.secret !== "") {
      secret = secretFromConfig(options.secret);
    } else if (options.dataDir !== undefined && options.dataDir !== null) {
      secret = await loadOrCreateSecret(options.dataDir);
    } else {
      options.onEphemeralSecret?.();
      secret = randomBytes(GENERATED_SECRET_BYTES);
    }
    return new TokenService(secret, issuer, tokenTtlSeconds);
  }

  /** Signs a token for the user, valid for ttlSeconds (the service's token lifetime by default). */
  async issue(user: AuthenticatedUser, ttlSeconds: number = this.tokenTtlSeconds): Promise<IssuedToken> {
    checkTtl("ttlSeconds", ttlSeconds);
    checkRoles(user.roles);
    const issuedAtSeconds = Math.floor(Date.now() / 1000);
    const expiresAtSeconds = issuedAtSeconds + ttlSeconds;
    const claims =
      user.roles.length === 0 ? { username: user.username } : { username: user.username, roles: user.roles };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: "JWT" })
      .setSubject(user.userId)
      .setIssuer(this.issuer)
      .setIssuedAt(issuedAtSeconds)
      .setExpirationTime(expiresAtSeconds)
      .sign(this.#secret);
    return { token, expiresAt: new Date(expiresAtSeconds * 1000) };
  }

  /** The user a token names; throws a 401 GatewayError saying why a token is not accepted. */
  async verify(token: string): Promise<AuthenticatedUser> {
    if (typeof token !== "string" || token === "") throw unauthorized("no token was given; sign in first");
    if (token.length > ACCESS_TOKEN_CHARS_MAX)
      throw unauthorized(`the token is longer than ${ACCESS_TOKEN_CHARS_MAX} characters`);
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#secret, { algorithms: [TOKEN_ALGORITHM], issuer: this.issuer }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthorized("the token has expired; sign in again");
      throw unauthorized("the token is not valid; sign in again");
    }
    const { sub, username, roles = [] } = payload;
    if (typeof sub !== "string" || sub === "" || typeof username !== "string" || username === "") {
      throw unauthorized("the token does not name a user; sign in again");
    }
    if (!isRoleList(roles)) throw unauthorized("the token's roles are not valid; sign in again");
    return { userId: sub, username, roles };
  }
}
