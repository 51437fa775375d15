// SCRAM users managed over the protocol (DescribeUserScramCredentials 50, AlterUserScramCredentials 51), with
// Kafka's checks and messages. A client sends the salted password (PBKDF2 of the password, never the password);
// the broker keeps the stored and server keys RFC 5802 derives from it, so the next login uses the new credential.
// Changes are kept as a layer over the users given at start (--sasl-users), persisted in the data dir.

import { createHash } from "node:crypto";
import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import { hmac, SCRAM_DIGESTS, type ScramMechanism } from "../../kafka/protocol/sasl/scram.js";
import type { SaslUserStore, ScramCredential } from "./user-store.js";

/** Kafka's ScramMechanism codes. */
export const SCRAM_MECHANISM_CODES: ReadonlyMap<number, ScramMechanism> = new Map([
  [1, "SCRAM-SHA-256"],
  [2, "SCRAM-SHA-512"],
]);
const CODE_OF: Readonly<Record<ScramMechanism, number>> = { "SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2 };

/** Kafka's bounds on a SCRAM credential's iteration count. */
export const SCRAM_CREDENTIAL_ITERATIONS_MIN = 4096;
export const SCRAM_CREDENTIAL_ITERATIONS_MAX = 16384;
/** Users one request may describe or change; more is INVALID_REQUEST for the rest. */
export const SCRAM_USERS_PER_REQUEST_MAX = 1000;

interface StoredCredential {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

/** Per user and mechanism: the credential set over the protocol, or null where it was deleted. */
export type StoredScramChanges = Record<string, Partial<Record<ScramMechanism, StoredCredential | null>>>;

export interface ScramDeletion {
  name: string;
  mechanism: number;
}

export interface ScramUpsertion extends ScramDeletion {
  iterations: number;
  salt: Buffer;
  saltedPassword: Buffer;
}

export interface UserResult {
  user: string;
  errorCode: number;
  errorMessage: string | null;
}

export interface DescribedUser extends UserResult {
  credentialInfos: Array<{ mechanism: number; iterations: number }>;
}

function credentialFrom(mechanism: ScramMechanism, upsertion: ScramUpsertion): ScramCredential {
  const { algorithm } = SCRAM_DIGESTS[mechanism];
  const clientKey = hmac(algorithm, upsertion.saltedPassword, "Client Key");
  return {
    salt: Buffer.from(upsertion.salt),
    iterations: upsertion.iterations,
    storedKey: createHash(algorithm).update(clientKey).digest(),
    serverKey: hmac(algorithm, upsertion.saltedPassword, "Server Key"),
  };
}

export class ScramAdmin {
  private readonly changes: StoredScramChanges = {};

  constructor(
    private readonly users: SaslUserStore,
    private readonly persist: () => void,
  ) {}

  /** Re-applies the changes stored in the data dir over the users given at start. */
  restore(stored: StoredScramChanges | undefined): void {
    for (const [user, byMechanism] of Object.entries(stored ?? {})) {
      for (const [mechanism, credential] of Object.entries(byMechanism) as Array<[ScramMechanism, StoredCredential]>) {
        this.record(user, mechanism, credential ?? null);
        if (credential === null) this.users.removeScramCredential(mechanism, user);
        else {
          this.users.putScramCredential(mechanism, user, {
            salt: Buffer.from(credential.salt, "base64"),
            iterations: credential.iterations,
            storedKey: Buffer.from(credential.storedKey, "base64"),
            serverKey: Buffer.from(credential.serverKey, "base64"),
          });
        }
      }
    }
  }

  toStored(): StoredScramChanges {
    return this.changes;
  }

  describe(names: readonly string[] | null): { errorCode: number; results: DescribedUser[] } {
    const known = this.users.scramUsers();
    const infos = (user: string) =>
      (known.get(user) ?? []).map(({ mechanism, iterations }) => ({ mechanism: CODE_OF[mechanism], iterations }));
    if (names === null || names.length === 0) {
      const results = [...known.keys()].map((user) => ({
        user,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        credentialInfos: infos(user),
      }));
      return { errorCode: ErrorCode.NONE, results };
    }
    const counts = new Map<string, number>();
    for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
    const results = [...counts.keys()].map((user, position): DescribedUser => {
      const failed = (errorCode: number, errorMessage: string) => ({
        user,
        errorCode,
        errorMessage,
        credentialInfos: [],
      });
      if (position >= SCRAM_USERS_PER_REQUEST_MAX) {
        return failed(ErrorCode.INVALID_REQUEST, `at most ${SCRAM_USERS_PER_REQUEST_MAX} users per request`);
      }
      if (counts.get(user)! > 1) {
        return failed(
          ErrorCode.DUPLICATE_RESOURCE,
          "Cannot describe SCRAM credentials for the same user twice in a single request",
        );
      }
      if (!known.has(user)) {
        return failed(ErrorCode.RESOURCE_NOT_FOUND, "Attempt to describe a user credential that does not exist");
      }
      return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: infos(user) };
    });
    return { errorCode: ErrorCode.NONE, results };
  }

  /** Checks every change, then applies the good ones; one result per user, in the order users first appear. */
  alter(deletions: readonly ScramDeletion[], upsertions: readonly ScramUpsertion[]): UserResult[] {
    const order = new Map<string, number>();
    const errors = new Map<string, UserResult>();
    const fail = (user: string, errorCode: number, errorMessage: string) => {
      if (!errors.has(user)) errors.set(user, { user, errorCode, errorMessage });
    };
    const seen = new Map<string, number>();
    const all: Array<ScramDeletion | ScramUpsertion> = [...deletions, ...upsertions];
    for (const change of all) {
      if (!order.has(change.name)) order.set(change.name, order.size);
      const key = `${change.name}\0${change.mechanism}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    for (const change of all) {
      const user = change.name;
      if (order.get(user)! >= SCRAM_USERS_PER_REQUEST_MAX) {
        fail(user, ErrorCode.INVALID_REQUEST, `at most ${SCRAM_USERS_PER_REQUEST_MAX} users per request`);
      } else if (user.length === 0) {
        fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty");
      } else if (!SCRAM_MECHANISM_CODES.has(change.mechanism)) {
        fail(user, ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism");
      } else if (seen.get(`${user}\0${change.mechanism}`)! > 1) {
        fail(user, ErrorCode.DUPLICATE_RESOURCE, "A user credential cannot be altered twice in the same request");
      } else if ("iterations" in change) {
        const mechanism = SCRAM_MECHANISM_CODES.get(change.mechanism)!;
        if (change.iterations < SCRAM_CREDENTIAL_ITERATIONS_MIN) {
          fail(
            user,
            ErrorCode.UNACCEPTABLE_CREDENTIAL,
            `Too few iterations: ${change.iterations} is less than the minimum ${SCRAM_CREDENTIAL_ITERATIONS_MIN} ` +
              `for ${mechanism}`,
          );
        } else if (change.iterations > SCRAM_CREDENTIAL_ITERATIONS_MAX) {
          fail(
            user,
            ErrorCode.UNACCEPTABLE_CREDENTIAL,
            `Too many iterations: ${change.iterations} is more than the maximum ${SCRAM_CREDENTIAL_ITERATIONS_MAX} ` +
              `for ${mechanism}`,
          );
        } else if (change.salt.length === 0 || change.saltedPassword.length === 0) {
          fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Credential must have a salt and a salted password");
        }
      } else {
        const mechanism = SCRAM_MECHANISM_CODES.get(change.mechanism)!;
        if (
          !this.users
            .scramUsers()
            .get(user)
            ?.some((info) => info.mechanism === mechanism)
        ) {
          fail(user, ErrorCode.RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist");
        }
      }
    }
    let changed = false;
    for (const change of all) {
      if (errors.has(change.name)) continue;
      const mechanism = SCRAM_MECHANISM_CODES.get(change.mechanism)!;
      if ("iterations" in change) {
        const credential = credentialFrom(mechanism, change);
        this.users.putScramCredential(mechanism, change.name, credential);
        this.record(change.name, mechanism, {
          salt: credential.salt.toString("base64"),
          iterations: credential.iterations,
          storedKey: credential.storedKey.toString("base64"),
          serverKey: credential.serverKey.toString("base64"),
        });
      } else {
        this.users.removeScramCredential(mechanism, change.name);
        this.record(change.name, mechanism, null);
      }
      changed = true;
    }
    if (changed) this.persist();
    return [...order.keys()].map((user) => errors.get(user) ?? { user, errorCode: ErrorCode.NONE, errorMessage: null });
  }

  private record(user: string, mechanism: ScramMechanism, credential: StoredCredential | null): void {
    const byMechanism = (this.changes[user] ??= {});
    byMechanism[mechanism] = credential;
  }
}
