// Readiness: a list of named checks, each answering null when its part is ready or the reason it is not, run
// together with a time limit each. `GET /readyz` reports the result; ready-made checks cover the database, its
// migrations, components such as workers (anything with a `ready` flag), and any probe function.

import { integerOption, resolveInteger } from "../platform/options.js";
import type { Database } from "../store/database.js";
import { BUILT_IN_COMPONENT, loadMigrations } from "../store/migrations.js";

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves to null when ready, or to the reason this part is not ready. */
  check(): Promise<string | null>;
}

export interface ReadinessCheckResult {
  readonly name: string;
  readonly ready: boolean;
  readonly reason: string | null;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: readonly ReadinessCheckResult[];
}

export const DEFAULT_READINESS_CHECK_TIMEOUT_MS = 2_000;
/** A check that takes longer than a minute is no readiness check a probe could wait for. */
export const READINESS_CHECK_TIMEOUT_MS_MAX = 60_000;
export const READINESS_CHECKS_MAX = 100;
export const READINESS_CHECK_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Reasons are cut to this length, so that a check cannot put a huge error text into every probe answer. */
export const READINESS_REASON_CHARS_MAX = 500;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function truncate(reason: string): string {
  return reason.length <= READINESS_REASON_CHARS_MAX ? reason : `${reason.slice(0, READINESS_REASON_CHARS_MAX - 1)}…`;
}

/** Runs one check with a time limit; a check that throws or takes too long is not ready, with that as the reason. */
async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<ReadinessCheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`did not answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    const reason = await Promise.race([
      check.check().then(
        (answer) => answer,
        (error: unknown) => `check failed: ${describe(error)}`,
      ),
      timeout,
    ]);
    return reason === null
      ? { name: check.name, ready: true, reason: null }
      : { name: check.name, ready: false, reason: truncate(reason) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The gateway's set of readiness checks. Evaluations that overlap share one run, so a flood of probes costs no more
 * than one probe at a time.
 */
export class Readiness {
  readonly #checks: ReadinessCheck[] = [];
  readonly #timeoutMs: number;
  #running: Promise<ReadinessReport> | null = null;
  #shutdownReason: string | null = null;

  constructor(checks: readonly ReadinessCheck[] = [], timeoutMs = DEFAULT_READINESS_CHECK_TIMEOUT_MS) {
    this.#timeoutMs = resolveInteger(
      "readinessCheckTimeoutMs",
      timeoutMs,
      integerOption(DEFAULT_READINESS_CHECK_TIMEOUT_MS, 1, READINESS_CHECK_TIMEOUT_MS_MAX),
      (field, message) => new RangeError(`${field} ${message}`),
    );
    for (const check of checks) this.add(check);
  }

  add(check: ReadinessCheck): void {
    if (typeof check?.name !== "string" || !READINESS_CHECK_NAME_PATTERN.test(check.name)) {
      throw new RangeError(
        `readiness check name ${JSON.stringify(check?.name)} is invalid; use 1 to 63 lower-case letters, digits, ".", "_" or "-"`,
      );
    }
    if (typeof check.check !== "function") throw new TypeError(`readiness check "${check.name}" has no check()`);
    if (this.#checks.some((existing) => existing.name === check.name)) {
      throw new RangeError(`a readiness check named "${check.name}" is already registered`);
    }
    if (this.#checks.length >= READINESS_CHECKS_MAX) {
      throw new RangeError(`at most ${READINESS_CHECKS_MAX} readiness checks can be registered`);
    }
    this.#checks.push(check);
  }

  get names(): readonly string[] {
    return this.#checks.map((check) => check.name);
  }

  /** From now on every evaluation reports not ready with this reason, so load balancers stop sending requests. */
  markShuttingDown(reason: string): void {
    this.#shutdownReason = reason;
  }

  evaluate(): Promise<ReadinessReport> {
    if (this.#shutdownReason !== null) {
      return Promise.resolve({
        ready: false,
        checks: [{ name: "gateway", ready: false, reason: this.#shutdownReason }],
      });
    }
    this.#running ??= this.#evaluateAll().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #evaluateAll(): Promise<ReadinessReport> {
    const checks = await Promise.all(this.#checks.map((check) => runCheck(check, this.#timeoutMs)));
    return { ready: checks.every((check) => check.ready), checks };
  }
}

/** A check from a probe that throws when its part is not ready; the error message becomes the reason. */
export function probeReadinessCheck(name: string, probe: () => Promise<unknown>): ReadinessCheck {
  return {
    name,
    async check() {
      try {
        await probe();
        return null;
      } catch (error) {
        return describe(error);
      }
    },
  };
}

/** Anything with a `ready` flag, such as a toolkit Component (a worker, a relay, a consumer). */
export interface ReadyFlag {
  readonly name: string;
  readonly ready: boolean;
}

/** Ready while the component says it is; the check is named after the component. */
export function componentReadinessCheck(component: ReadyFlag, name: string = component.name): ReadinessCheck {
  return {
    name,
    async check() {
      return component.ready ? null : `${component.name} is not running`;
    },
  };
}

/** Ready when the database answers a trivial query. */
export function databaseReadinessCheck(database: Database, name = "database"): ReadinessCheck {
  return probeReadinessCheck(name, () => database.query("SELECT 1"));
}

/** One component's migrations: an app's name and directory, or Sluice's built-in ones when both are absent. */
export interface MigrationSource {
  component?: string;
  directory?: string | URL;
}

function migrationKey(component: string, migration: { version: number; name: string }): string {
  return `${component}/${String(migration.version).padStart(4, "0")}-${migration.name}`;
}

/**
 * Ready when every migration file of each source (Sluice's built-in ones when none are given) is recorded as
 * applied, for its component, in the database's schema.
 */
export function migrationsReadinessCheck(
  database: Database,
  sources: readonly MigrationSource[] = [{}],
  name = "migrations",
): ReadinessCheck {
  // The files do not change while the process runs, so they are read once.
  let expected: Promise<Set<string>> | null = null;
  const loadExpected = async (): Promise<Set<string>> => {
    const keys = new Set<string>();
    for (const source of sources) {
      const component = source.component ?? BUILT_IN_COMPONENT;
      for (const migration of await loadMigrations(source.directory)) keys.add(migrationKey(component, migration));
    }
    return keys;
  };
  return {
    name,
    async check() {
      expected ??= loadExpected().catch((error: unknown) => {
        expected = null;
        throw error;
      });
      const files = await expected;
      let applied: Set<string>;
      try {
        const { rows } = await database.query<{ component: string; version: number; name: string }>(
          "SELECT component, version, name FROM sluice_migrations",
        );
        applied = new Set(rows.map((row) => migrationKey(row.component, row)));
      } catch (error) {
        return `cannot read the applied migrations: ${describe(error)}`;
      }
      const missing = [...files].filter((key) => !applied.has(key));
      return missing.length === 0 ? null : `migrations not applied yet: ${missing.join(", ")}`;
    },
  };
}
