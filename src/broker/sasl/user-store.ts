// The users SASL authenticates, prepared once when the broker starts. Passwords are not kept: PLAIN checks an HMAC
// of the offered password against an HMAC of the configured one (equal lengths, compared in constant time), and SCRAM
// keeps only the salted credentials RFC 5802 needs (salt, iterations, stored key, server key). Passwords are used as
// their UTF-8 bytes without SASLprep, as Kafka and its clients do.

import { randomBytes as cryptoRandomBytes, timingSafeEqual } from "node:crypto";
import {
  deriveScramKeys,
  hmac,
  isScramMechanism,
  SCRAM_DIGESTS,
  type ScramMechanism,
} from "../../kafka/protocol/sasl/scram.js";
import type { SaslMechanism } from "../config.js";

export { hmac, isScramMechanism, SCRAM_DIGESTS, type ScramMechanism } from "../../kafka/protocol/sasl/scram.js";

/** The mechanisms this broker implements, in the order they are advertised when all are enabled. */
export const SUPPORTED_SASL_MECHANISMS: readonly SaslMechanism[] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/** Kafka's and kafkajs's minimum for SCRAM-SHA-256/512; clients refuse fewer. */
export const SCRAM_ITERATIONS = 4096;
export const SCRAM_SALT_BYTES = 16;
/** Derivation costs a few milliseconds per user and mechanism at start, so the user list is bounded. */
export const SASL_USERS_MAX = 10_000;
export const SASL_USERNAME_BYTES_MAX = 1024;
export const SASL_PASSWORD_BYTES_MAX = 1024;

const SECRET_BYTES = 32;

export interface ScramCredential {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export interface SaslUsersConfig {
  readonly mechanisms: readonly SaslMechanism[];
  readonly users: Readonly<Record<string, string>>;
}

export interface SaslUserStoreOptions {
  readonly iterations?: number;
  /** Source of salts and of the store's secret; node:crypto's unless a test needs reproducible bytes. */
  readonly randomBytes?: (size: number) => Buffer;
}

export function isSupportedSaslMechanism(mechanism: string): mechanism is SaslMechanism {
  return (SUPPORTED_SASL_MECHANISMS as readonly string[]).includes(mechanism);
}

/** Derives the credential RFC 5802 section 3 describes from a password, a salt and an iteration count. */
export function deriveScramCredential(
  mechanism: ScramMechanism,
  password: string,
  salt: Buffer,
  iterations: number,
): ScramCredential {
  const { storedKey, serverKey } = deriveScramKeys(mechanism, password, salt, iterations);
  return { salt, iterations, storedKey, serverKey };
}

function validateUsers(config: SaslUsersConfig): void {
  if (!Array.isArray(config.mechanisms) || config.mechanisms.length === 0) {
    throw new Error("sasl.mechanisms must list at least one of " + SUPPORTED_SASL_MECHANISMS.join(", "));
  }
  for (const mechanism of config.mechanisms) {
    if (!isSupportedSaslMechanism(mechanism)) {
      throw new Error(`sasl.mechanisms: ${String(mechanism)} is not one of ${SUPPORTED_SASL_MECHANISMS.join(", ")}`);
    }
  }
  if (typeof config.users !== "object" || config.users === null) {
    throw new Error("sasl.users must be an object mapping user names to passwords");
  }
  const names = Object.keys(config.users);
  if (names.length > SASL_USERS_MAX) {
    throw new Error(`sasl.users lists ${names.length} users; at most ${SASL_USERS_MAX} are allowed`);
  }
  for (const name of names) {
    const password: unknown = config.users[name];
    if (name.length === 0 || name.includes("\0") || Buffer.byteLength(name) > SASL_USERNAME_BYTES_MAX) {
      throw new Error(
        `sasl.users: user name ${JSON.stringify(name)} must be 1 to ${SASL_USERNAME_BYTES_MAX} bytes without NUL`,
      );
    }
    if (
      typeof password !== "string" ||
      password.length === 0 ||
      password.includes("\0") ||
      Buffer.byteLength(password) > SASL_PASSWORD_BYTES_MAX
    ) {
      throw new Error(
        `sasl.users: the password of ${JSON.stringify(name)} must be a string of 1 to ${SASL_PASSWORD_BYTES_MAX} bytes without NUL`,
      );
    }
  }
}

export class SaslUserStore {
  readonly mechanisms: readonly SaslMechanism[];
  private readonly secret: Buffer;
  private readonly plainDigests = new Map<string, Buffer>();
  private readonly scramCredentials = new Map<ScramMechanism, Map<string, ScramCredential>>();
  private readonly absentUserDigest: Buffer;
  private readonly iterations: number;

  constructor(config: SaslUsersConfig, options: SaslUserStoreOptions = {}) {
    validateUsers(config);
    const randomBytes = options.randomBytes ?? cryptoRandomBytes;
    this.iterations = options.iterations ?? SCRAM_ITERATIONS;
    this.mechanisms = SUPPORTED_SASL_MECHANISMS.filter((mechanism) => config.mechanisms.includes(mechanism));
    this.secret = randomBytes(SECRET_BYTES);
    this.absentUserDigest = this.plainDigest(Buffer.from("no such user"));
    for (const [name, password] of Object.entries(config.users)) {
      this.plainDigests.set(name, this.plainDigest(Buffer.from(password, "utf8")));
    }
    for (const mechanism of this.mechanisms) {
      if (!isScramMechanism(mechanism)) continue;
      const credentials = new Map<string, ScramCredential>();
      for (const [name, password] of Object.entries(config.users)) {
        credentials.set(
          name,
          deriveScramCredential(mechanism, password, randomBytes(SCRAM_SALT_BYTES), this.iterations),
        );
      }
      this.scramCredentials.set(mechanism, credentials);
    }
  }

  isEnabled(mechanism: string): boolean {
    return (this.mechanisms as readonly string[]).includes(mechanism);
  }

  /** Checks a PLAIN password; an unknown user costs the same work as a wrong password. */
  verifyPassword(username: string, password: Buffer): boolean {
    const offered = this.plainDigest(password);
    const known = this.plainDigests.get(username);
    const matches = timingSafeEqual(offered, known ?? this.absentUserDigest);
    return known !== undefined && matches;
  }

  /** Adds or replaces a user's SCRAM credential (AlterUserScramCredentials); the next login uses it. */
  putScramCredential(mechanism: ScramMechanism, username: string, credential: ScramCredential): void {
    let credentials = this.scramCredentials.get(mechanism);
    if (credentials === undefined) {
      credentials = new Map();
      this.scramCredentials.set(mechanism, credentials);
    }
    credentials.set(username, credential);
  }

  /** Removes a user's SCRAM credential; false when there was none. */
  removeScramCredential(mechanism: ScramMechanism, username: string): boolean {
    return this.scramCredentials.get(mechanism)?.delete(username) ?? false;
  }

  /** Every user with a SCRAM credential and, per mechanism, its iteration count; users in name order. */
  scramUsers(): Map<string, Array<{ mechanism: ScramMechanism; iterations: number }>> {
    const users = new Map<string, Array<{ mechanism: ScramMechanism; iterations: number }>>();
    for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
      for (const [name, credential] of this.scramCredentials.get(mechanism) ?? []) {
        users.set(name, [...(users.get(name) ?? []), { mechanism, iterations: credential.iterations }]);
      }
    }
    return new Map([...users].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** The user's credential, or null for an unknown user or a mechanism that is not enabled. */
  scramCredential(mechanism: ScramMechanism, username: string): ScramCredential | null {
    if (!this.isEnabled(mechanism)) return null;
    return this.scramCredentials.get(mechanism)?.get(username) ?? null;
  }

  /**
   * A credential no proof can match, with a salt that stays the same for the same name, so that a client cannot
   * tell an unknown user from a wrong password by the server-first message (RFC 5802 section 9).
   */
  absentUserScramCredential(mechanism: ScramMechanism, username: string): ScramCredential {
    const { algorithm } = SCRAM_DIGESTS[mechanism];
    const seed = hmac(algorithm, this.secret, `${mechanism}\0${username}`);
    return {
      salt: seed.subarray(0, SCRAM_SALT_BYTES),
      iterations: this.iterations,
      storedKey: hmac(algorithm, seed, "stored"),
      serverKey: hmac(algorithm, seed, "server"),
    };
  }

  private plainDigest(password: Buffer): Buffer {
    return hmac("sha256", this.secret, password);
  }
}

const storesByConfig = new WeakMap<SaslUsersConfig, SaslUserStore>();

/**
 * The store for one broker's SASL configuration, derived on the first call and kept for as long as the
 * configuration object lives. The broker calls it at start so that derivation and configuration errors happen there.
 */
export function saslUserStoreFor(config: SaslUsersConfig): SaslUserStore {
  let store = storesByConfig.get(config);
  if (store === undefined) {
    store = new SaslUserStore(config);
    storesByConfig.set(config, store);
  }
  return store;
}
