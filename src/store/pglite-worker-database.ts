// The Database interface over PGlite running in a worker thread (pglite-worker.ts), so that PostgreSQL's
// WebAssembly works on another core than the HTTP server, the relay and the broker. It behaves like the in-thread
// back end (pglite-database.ts): one session, statements and transactions one at a time, the same values, errors
// and rollback rules. Every call is one message each way; a transaction begins with its first statement, and one
// that ran none costs no message at all. A crash of the thread fails every pending and later call.

import { readFile } from "node:fs/promises";
import { Worker } from "node:worker_threads";

import type { Database, Queryable, QueryResult, ResolvedDatabaseOptions, StoreLogger } from "./database-types.js";
import { StoreError, StoreErrorCode, transactionRolledBackError } from "./errors.js";
import { deliverNotification } from "./notifications.js";
import {
  deserializeError,
  OPEN_REQUEST_ID,
  type PgliteWorkerData,
  type PgliteWorkerReply,
  type PgliteWorkerRequest,
  type WorkerQueryResult,
} from "./pglite-worker-protocol.js";
import { PgliteTransactionHandle, PgliteView, type PgliteViewHost } from "./pglite-view.js";

/** Calls waiting for the worker at most, unless the options say otherwise; past it a call fails at once. */
export const DEFAULT_PGLITE_WORKER_REQUESTS_MAX = 10_000;
export const PGLITE_WORKER_REQUESTS_MAX = 1_000_000;
/** The worker thread's JavaScript heap (query results on their way out), unless the options say otherwise. */
export const DEFAULT_PGLITE_WORKER_HEAP_MB = 1_024;

type Reply = Extract<PgliteWorkerReply, { id: number }>;
type RequestBody = PgliteWorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

/** PGlite's two WebAssembly modules, compiled once per process and shared by every worker it starts. */
interface PgliteModules {
  pglite: WebAssembly.Module;
  initdb: WebAssembly.Module;
}

let compiledModules: Promise<PgliteModules> | null = null;

function pgliteModules(): Promise<PgliteModules> {
  compiledModules ??= (async () => {
    const compile = async (name: string): Promise<WebAssembly.Module> =>
      WebAssembly.compile(await readFile(new URL(name, import.meta.resolve("@electric-sql/pglite"))));
    const [pglite, initdb] = await Promise.all([compile("./pglite.wasm"), compile("./initdb.wasm")]);
    return { pglite, initdb };
  })();
  compiledModules.catch(() => (compiledModules = null));
  return compiledModules;
}

function toBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return Array.isArray(value) ? value.map(toBuffers) : value;
}

/** The rows as the in-thread back end returns them: structured cloning turned its Buffers into Uint8Arrays. */
function toQueryResult<Row>(result: WorkerQueryResult | undefined): QueryResult<Row> {
  if (result === undefined) return { rows: [], rowCount: 0 };
  for (const column of result.byteaColumns) {
    for (const row of result.rows) row[column] = toBuffers(row[column]);
  }
  return { rows: result.rows as Row[], rowCount: result.rowCount };
}

function workerFailedError(cause: unknown): StoreError {
  return new StoreError(
    StoreErrorCode.WORKER_FAILED,
    "PGlite's worker thread stopped, and with it the database; open it again with openDatabase()",
    { cause },
  );
}

/** The worker thread and what every view of it shares: the calls waiting for replies, the listeners, the state. */
class WorkerHost implements PgliteViewHost {
  readonly #pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  readonly #listeners = new Map<number, (payload: string) => void>();
  #nextRequestId = OPEN_REQUEST_ID + 1;
  #nextListenId = 1;
  nextTransactionId = 1;
  closed = false;
  /** Why the thread stopped, once it has stopped without being closed. */
  failure: StoreError | null = null;

  constructor(
    readonly worker: Worker,
    readonly sessionSchema: string,
    readonly logger: StoreLogger,
    private readonly requestsMax: number,
  ) {
    worker.on("message", (reply: PgliteWorkerReply) => {
      if (reply.kind === "notification") {
        this.#listeners.get(reply.listenId)?.(reply.payload);
        return;
      }
      const waiting = this.#pending.get(reply.id);
      if (waiting === undefined) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      waiting.resolve(reply);
    });
    worker.on("error", (error) => this.#fail(error));
    worker.on("exit", (code) => this.#fail(new Error(`PGlite's worker thread exited with code ${code}`)));
  }

  /** Waits for the thread to open PGlite; rejects with its reason when it cannot. */
  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (reply: Reply): void => {
        if (reply.kind === "failed") reject(deserializeError(reply.error));
        else resolve();
      };
      this.#await(OPEN_REQUEST_ID, settle, reject);
    });
  }

  /**
   * Sends a request and resolves with its reply, failed or not. Requests that start work count against the limit;
   * a transaction's end and close do not, so that they always get through.
   */
  send(body: RequestBody, counted = true): Promise<Reply> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (counted && this.#pending.size >= this.requestsMax) {
      return Promise.reject(
        new StoreError(
          StoreErrorCode.QUEUE_FULL,
          `${this.requestsMax} calls already wait for PGlite's worker thread (pgliteWorkerRequestsMax); ` +
            "retry later, or raise the limit",
        ),
      );
    }
    const id = this.#nextRequestId++;
    return new Promise((resolve, reject) => {
      this.#await(id, resolve, reject);
      this.worker.postMessage({ ...body, id } as PgliteWorkerRequest);
    });
  }

  /** Sends a request and resolves with its result; rejects with the error the statement raised. */
  async call(body: RequestBody, counted = true): Promise<WorkerQueryResult | undefined> {
    const reply = await this.send(body, counted);
    if (reply.kind === "failed") throw deserializeError(reply.error);
    return reply.kind === "ok" ? reply.result : undefined;
  }

  addListener(onPayload: (payload: string) => void): number {
    const listenId = this.#nextListenId++;
    this.#listeners.set(listenId, onPayload);
    return listenId;
  }

  removeListener(listenId: number): void {
    this.#listeners.delete(listenId);
  }

  #await(id: number, resolve: (reply: Reply) => void, reject: (error: Error) => void): void {
    if (this.#pending.size === 0) this.worker.ref();
    this.#pending.set(id, { resolve, reject });
  }

  #fail(cause: unknown): void {
    if (this.failure !== null) return;
    const failure = workerFailedError(cause);
    this.failure = failure;
    if (!this.closed) this.logger.error({ err: cause }, "PGlite's worker thread stopped");
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#listeners.clear();
    for (const waiting of pending) waiting.reject(failure);
  }
}

class WorkerTransactionHandle extends PgliteTransactionHandle {
  /** Statements sent; with none, the worker never began the transaction and its end needs no message. */
  sent = 0;

  constructor(
    private readonly host: WorkerHost,
    private readonly transactionId: number,
    private readonly searchPath: string | null,
  ) {
    super();
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    const values = params === undefined ? [] : [...params];
    return toQueryResult(await this.#run({ kind: "query", sql, params: values }));
  }

  async exec(script: string): Promise<void> {
    await this.#run({ kind: "exec", script });
  }

  #run(
    statement: { kind: "query"; sql: string; params: unknown[] } | { kind: "exec"; script: string },
  ): Promise<WorkerQueryResult | undefined> {
    return this.track(() => {
      // Only a transaction's first statement waits behind other callers; the later ones run as soon as they arrive
      // and are what lets the queue drain, so a full queue must not fail them.
      const counted = this.sent === 0;
      this.sent += 1;
      return this.host.call({ ...statement, transactionId: this.transactionId, searchPath: this.searchPath }, counted);
    });
  }
}

class PgliteWorkerDatabase extends PgliteView<WorkerHost> {
  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    this.assertUsable("query()");
    const values = params === undefined ? [] : [...params];
    return toQueryResult(
      await this.host.call({ kind: "query", transactionId: null, searchPath: this.searchPath, sql, params: values }),
    );
  }

  async exec(script: string): Promise<void> {
    this.assertUsable("exec()");
    await this.host.call({ kind: "exec", transactionId: null, searchPath: this.searchPath, script });
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    this.assertUsable("transaction()");
    const host = this.host;
    const transactionId = host.nextTransactionId++;
    const handle = new WorkerTransactionHandle(host, transactionId, this.searchPath);
    let result: T;
    try {
      result = await this.runWork(handle, work);
    } catch (error) {
      if (handle.sent > 0) await host.send({ kind: "end", transactionId, commit: false, checkAborted: false }, false);
      throw error;
    }
    if (handle.sent === 0) return result;
    // The worker asks a transaction that may be aborted before committing it (see assertNotAborted).
    const reply = await host.send(
      { kind: "end", transactionId, commit: true, checkAborted: handle.mayBeAborted },
      false,
    );
    if (reply.kind === "failed") {
      const error = deserializeError(reply.error);
      throw reply.rolledBack === true ? transactionRolledBackError(error) : error;
    }
    return result;
  }

  protected async subscribe(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const host = this.host;
    const listenId = host.addListener((payload) => deliverNotification(channel, payload, onNotify, host.logger));
    try {
      await host.call({ kind: "listen", listenId, channel });
    } catch (error) {
      host.removeListener(listenId);
      throw error;
    }
    let listening = true;
    return async () => {
      if (!listening || host.closed || host.failure !== null) return;
      listening = false;
      host.removeListener(listenId);
      await host.call({ kind: "unlisten", listenId });
    };
  }

  protected view(schema: string): Database {
    return new PgliteWorkerDatabase(this.host, schema, false);
  }

  protected async closeHost(): Promise<void> {
    const host = this.host;
    try {
      if (host.failure === null) {
        const reply = await host.send({ kind: "close" }, false);
        if (reply.kind === "failed") throw deserializeError(reply.error);
      }
    } finally {
      await host.worker.terminate();
    }
  }
}

export async function openPgliteWorkerDatabase(options: ResolvedDatabaseOptions): Promise<Database> {
  const snapshot = options.pgliteSnapshot === null ? null : await options.pgliteSnapshot.arrayBuffer();
  const modules = await pgliteModules();
  const workerData: PgliteWorkerData = {
    dataDir: options.dataDir,
    snapshot,
    schema: options.schema,
    pgliteWasmModule: modules.pglite,
    initdbWasmModule: modules.initdb,
  };
  const worker = new Worker(new URL("./pglite-worker.js", import.meta.url), {
    workerData,
    transferList: snapshot === null ? [] : [snapshot],
    resourceLimits: { maxOldGenerationSizeMb: options.pgliteWorkerHeapMb },
  });
  const host = new WorkerHost(worker, options.schema, options.logger, options.pgliteWorkerRequestsMax);
  try {
    await host.opened();
  } catch (error) {
    host.closed = true;
    await worker.terminate();
    throw host.failure ?? error;
  }
  options.logger.debug(
    { kind: "pglite", thread: "worker", dataDir: options.dataDir, schema: options.schema },
    "database opened",
  );
  return new PgliteWorkerDatabase(host, options.schema, true);
}
