// Runs each store test against both back ends: PGlite, and the PostgreSQL server at DATABASE_URL (by default the
// local test database), each test in a fresh schema that is dropped afterwards. When the server cannot be reached,
// its cases are skipped with a message saying so (or fail, with SLUICE_REQUIRE_ALL_TOOLS=1 as in CI). PGlite runs on
// its default thread; the store's own test files run each PGlite case on both threads (testOnEveryPgliteThread).

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";

import pg from "pg";

import {
  createPgliteSnapshot,
  openDatabase,
  PGLITE_THREADS,
  type Database,
  type DatabaseKind,
  type OpenDatabaseOptions,
  type PgliteThread,
} from "../../src/store/index.js";

export const SERVER_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const KINDS: readonly DatabaseKind[] = ["pglite", "postgres"];
const REACHABILITY_TIMEOUT_MS = 3_000;
const TEST_TIMEOUT_MS = 60_000;

/** PGlite's threads to run each case on; null runs it once, on the default thread (SLUICE_PGLITE_THREAD). */
let pgliteThreads: readonly PgliteThread[] | null = null;

/** Runs this file's PGlite cases on both threads, main and worker: for the store's own tests. */
export function testOnEveryPgliteThread(): void {
  pgliteThreads = PGLITE_THREADS;
}

let reachability: Promise<string | null> | null = null;

/** Resolves to null when the server answers, or to the reason it does not. */
export function serverUnreachableReason(): Promise<string | null> {
  reachability ??= (async () => {
    const client = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: REACHABILITY_TIMEOUT_MS });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.query("SELECT 1");
      return null;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachability;
}

let pgliteSnapshot: Promise<Blob> | null = null;

/** One blank PGlite cluster per test process, so that each in-memory database skips initdb. */
export function sharedPgliteSnapshot(): Promise<Blob> {
  pgliteSnapshot ??= createPgliteSnapshot();
  return pgliteSnapshot;
}

let schemaCounter = 0;

export function uniqueSchemaName(): string {
  schemaCounter += 1;
  return `sluice_test_${process.pid}_${schemaCounter}`;
}

/** Runs one SQL statement on the server outside any test database, for setup and cleanup. */
export async function adminQuery<Row extends pg.QueryResultRow = Record<string, unknown>>(
  text: string,
  values: unknown[] = [],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: REACHABILITY_TIMEOUT_MS });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export interface StoreTarget {
  readonly kind: DatabaseKind;
  /** PGlite's thread when the case chose one; null on the server or on PGlite's default thread. */
  readonly pgliteThread: PgliteThread | null;
  readonly schema: string;
  /** The server URL, or null for PGlite. */
  readonly url: string | null;
  /** PGlite's data directory when the test asked for a persistent one. */
  readonly dataDir: string | null;
  /**
   * Opens a database on this target; it is closed after the test if the test has not closed it. An in-memory
   * PGlite starts from a shared blank-cluster snapshot (see sharedPgliteSnapshot).
   */
  open(options?: OpenDatabaseOptions): Promise<Database>;
  /**
   * A second handle for concurrency tests: a new connection pool on a server, and the same database with PGlite,
   * whose single in-process session cannot be opened twice.
   */
  peer(database: Database): Promise<Database>;
  /** A temporary directory removed after the test. */
  tempDir(): Promise<string>;
}

/** True when the PostgreSQL server answers; otherwise skips the test loudly (or fails it in CI). */
export async function requirePostgresServer(t: TestContext): Promise<boolean> {
  const reason = await serverUnreachableReason();
  if (reason === null) return true;
  const message = `PostgreSQL server not reachable at ${SERVER_URL}: ${reason}`;
  // CI installs and starts every tool the tests use, so there a missing server fails instead of skipping.
  if (process.env.SLUICE_REQUIRE_ALL_TOOLS === "1") throw new Error(`${message}, and CI requires it`);
  process.stderr.write(`\n*** SKIPPED: ${message} ***\n`);
  t.skip(message);
  return false;
}

export interface StoreTestOptions {
  /** Give PGlite a data directory, so that the test can close and reopen the database. */
  persistent?: boolean;
  /** Limit the test to some kinds, when the behaviour only exists on those. */
  kinds?: readonly DatabaseKind[];
  timeoutMs?: number;
}

interface StoreCase {
  kind: DatabaseKind;
  pgliteThread: PgliteThread | null;
  label: string;
}

export function storeTest(
  name: string,
  body: (t: TestContext, target: StoreTarget) => Promise<void>,
  options: StoreTestOptions = {},
): void {
  const cases = (options.kinds ?? KINDS).flatMap((kind): StoreCase[] =>
    kind === "pglite" && pgliteThreads !== null
      ? pgliteThreads.map((pgliteThread) => ({ kind, pgliteThread, label: `pglite ${pgliteThread}` }))
      : [{ kind, pgliteThread: null, label: kind }],
  );
  for (const { kind, pgliteThread, label } of cases) {
    test(`${name} [${label}]`, { timeout: options.timeoutMs ?? TEST_TIMEOUT_MS }, async (t) => {
      if (kind === "postgres") {
        if (!(await requirePostgresServer(t))) return;
      }
      const opened: Database[] = [];
      const tempDirs: string[] = [];
      const schema = uniqueSchemaName();
      const makeTempDir = async (): Promise<string> => {
        const dir = await mkdtemp(join(tmpdir(), "sluice-store-test-"));
        tempDirs.push(dir);
        return dir;
      };
      const dataDir = kind === "pglite" && options.persistent === true ? await makeTempDir() : null;
      const url = kind === "postgres" ? SERVER_URL : null;
      const target: StoreTarget = {
        kind,
        pgliteThread,
        schema,
        url,
        dataDir,
        async open(extra = {}) {
          const inMemory = kind === "pglite" && dataDir === null;
          const snapshot = inMemory ? { pgliteSnapshot: await sharedPgliteSnapshot() } : {};
          // Nested use is checked on both kinds, so that the suite catches a call on the database inside a transaction.
          const database = await openDatabase({
            url,
            dataDir,
            schema,
            poolSize: 4,
            detectNestedUse: true,
            ...(pgliteThread === null ? {} : { pgliteThread }),
            ...snapshot,
            ...extra,
          });
          opened.push(database);
          return database;
        },
        async peer(database) {
          return kind === "postgres" ? target.open({ migrate: false }) : database;
        },
        tempDir: makeTempDir,
      };
      try {
        await body(t, target);
      } finally {
        for (const database of opened) await database.close();
        if (kind === "postgres") await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
      }
    });
  }
}

/** Polls check every intervalMs until it returns true; fails after timeoutMs. */
export async function waitFor(
  description: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A small seeded generator (mulberry32), so randomised tests replay exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** A session of the server left idle in a transaction that holds a transaction id, as a forgotten BEGIN does. */
export interface IdleTransaction {
  readonly pid: number;
  readonly applicationName: string;
  /** Rolls the transaction back and closes the session; safe to call twice. Call it in a finally. */
  end(): Promise<void>;
}

/** Opens a session named applicationName on the server, begins a transaction and gives it a transaction id. */
export async function openIdleTransaction(applicationName: string): Promise<IdleTransaction> {
  const client = new pg.Client({ connectionString: SERVER_URL, application_name: applicationName });
  client.on("error", () => undefined);
  await client.connect();
  let ended: Promise<void> | null = null;
  const end = (): Promise<void> => {
    ended ??= client.query("ROLLBACK").then(
      () => client.end(),
      () => client.end(),
    );
    return ended;
  };
  try {
    await client.query("BEGIN");
    // A transaction id, as its first write would take.
    await client.query("SELECT pg_current_xact_id()");
    const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    return { pid: rows[0]!.pid, applicationName, end };
  } catch (error) {
    await end();
    throw error;
  }
}
