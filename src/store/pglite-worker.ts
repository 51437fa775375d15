// PGlite's worker thread: runs PostgreSQL's WebAssembly off the thread that serves HTTP, the relay and the broker, so
// that the two halves of a request's CPU (JavaScript and PostgreSQL) run on two cores. It runs the requests of
// pglite-worker-protocol.ts one at a time, in the order they arrive; while a transaction is open, only that
// transaction's statements run, and the rest wait for its end, as PGlite's own lock makes them do in one thread.

import { parentPort, workerData } from "node:worker_threads";

import type { PGlite, Results, Transaction } from "@electric-sql/pglite";

import { assertNotAborted, openPglite, rowCountOf, runWithSearchPath } from "./pglite-instance.js";
import {
  OPEN_REQUEST_ID,
  serializeError,
  type PgliteWorkerData,
  type PgliteWorkerReply,
  type PgliteWorkerRequest,
  type WorkerQueryResult,
} from "./pglite-worker-protocol.js";
import { BYTEA_ARRAY_OID, BYTEA_OID } from "./value-types.js";

type StatementRequest = Extract<PgliteWorkerRequest, { kind: "query" | "exec" }>;
type TransactionRequest = StatementRequest | Extract<PgliteWorkerRequest, { kind: "end" }>;

const notBegunError = serializeError(new Error("the transaction could not begin"));

if (parentPort === null) throw new Error("pglite-worker.ts runs as a worker thread");
const port = parentPort;
const send = (reply: PgliteWorkerReply): void => port.postMessage(reply);

function toWorkerResult(result: Results<Record<string, unknown>>): WorkerQueryResult {
  const byteaColumns: string[] = [];
  for (const field of result.fields) {
    if (field.dataTypeID === BYTEA_OID || field.dataTypeID === BYTEA_ARRAY_OID) byteaColumns.push(field.name);
  }
  return { rows: result.rows, rowCount: rowCountOf(result), byteaColumns };
}

async function runStatement(
  target: PGlite | Transaction,
  request: StatementRequest,
): Promise<{ result?: WorkerQueryResult }> {
  if (request.kind === "exec") {
    await target.exec(request.script);
    return {};
  }
  return { result: toWorkerResult(await target.query(request.sql, request.params)) };
}

/** The transaction the worker is inside: its statements, queued until it takes them. */
interface OpenTransaction {
  readonly id: number;
  readonly inbox: TransactionRequest[];
  wake: (() => void) | null;
}

class PgliteWorker {
  /** Requests waiting for the worker, outside the open transaction. */
  readonly #queue: PgliteWorkerRequest[] = [];
  #open: OpenTransaction | null = null;
  #running = false;
  readonly #unlistens = new Map<number, () => Promise<void>>();

  constructor(private readonly pglite: PGlite) {}

  receive(request: PgliteWorkerRequest): void {
    const open = this.#open;
    if (open !== null && "transactionId" in request && request.transactionId === open.id) {
      open.inbox.push(request);
      open.wake?.();
      return;
    }
    this.#queue.push(request);
    if (!this.#running) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#running = true;
    while (this.#queue.length > 0) {
      const request = this.#queue.shift() as PgliteWorkerRequest;
      await this.#run(request);
    }
    this.#running = false;
  }

  async #run(request: PgliteWorkerRequest): Promise<void> {
    try {
      switch (request.kind) {
        case "query":
        case "exec":
          if (request.transactionId !== null) {
            await this.#runTransaction(request);
            return;
          }
          send({
            kind: "ok",
            id: request.id,
            ...(await runWithSearchPath(this.pglite, request.searchPath, (target) => runStatement(target, request))),
          });
          return;
        case "end":
          // The transaction never began in the worker: it ran no statement, or its BEGIN failed (and with it every
          // statement, which makes the caller check for an abort).
          if (!request.checkAborted) send({ kind: "ok", id: request.id });
          else send({ kind: "failed", id: request.id, error: notBegunError, rolledBack: true });
          return;
        case "listen": {
          const { listenId } = request;
          const unlisten = await this.pglite.listen(request.channel, (payload) =>
            send({ kind: "notification", listenId, payload }),
          );
          this.#unlistens.set(listenId, unlisten);
          send({ kind: "ok", id: request.id });
          return;
        }
        case "unlisten":
          await this.#unlistens.get(request.listenId)?.();
          this.#unlistens.delete(request.listenId);
          send({ kind: "ok", id: request.id });
          return;
        case "close":
          await this.pglite.close();
          send({ kind: "ok", id: request.id });
          port.close();
          return;
      }
    } catch (error) {
      send({ kind: "failed", id: request.id, error: serializeError(error) });
    }
  }

  /** Begins a transaction with its first statement, and runs its statements as they come until its end. */
  async #runTransaction(first: StatementRequest): Promise<void> {
    const id = first.transactionId as number;
    const open: OpenTransaction = { id, inbox: [first], wake: null };
    // Statements the work sent without awaiting may already wait in the queue behind the first.
    for (let index = 0; index < this.#queue.length;) {
      const queued = this.#queue[index] as PgliteWorkerRequest;
      if ("transactionId" in queued && queued.transactionId === id) {
        open.inbox.push(queued as TransactionRequest);
        this.#queue.splice(index, 1);
      } else {
        index += 1;
      }
    }
    this.#open = open;
    const next = async (): Promise<TransactionRequest> => {
      while (open.inbox.length === 0) await new Promise<void>((resolve) => (open.wake = resolve));
      open.wake = null;
      return open.inbox.shift() as TransactionRequest;
    };
    // The end's reply waits for PGlite's COMMIT or ROLLBACK, which may fail too.
    const end: { reply: PgliteWorkerReply | null } = { reply: null };
    try {
      await this.pglite.transaction(async (transaction) => {
        if (first.searchPath !== null) await transaction.exec(first.searchPath);
        for (;;) {
          const request = await next();
          if (request.kind !== "end") {
            try {
              send({ kind: "ok", id: request.id, ...(await runStatement(transaction, request)) });
            } catch (error) {
              send({ kind: "failed", id: request.id, error: serializeError(error) });
            }
            continue;
          }
          end.reply = { kind: "ok", id: request.id };
          if (!request.commit) throw new RollingBack();
          if (request.checkAborted) {
            try {
              await assertNotAborted(transaction);
            } catch (error) {
              end.reply = { kind: "failed", id: request.id, error: serializeError(error), rolledBack: true };
              throw new RollingBack();
            }
          }
          return;
        }
      });
    } catch (error) {
      if (!(error instanceof RollingBack)) {
        // BEGIN, the search path, COMMIT or ROLLBACK failed: the end and every statement still waiting fail with it.
        const failed = serializeError(error);
        if (end.reply !== null && "id" in end.reply) end.reply = { kind: "failed", id: end.reply.id, error: failed };
        for (const request of open.inbox) send({ kind: "failed", id: request.id, error: failed });
      }
    } finally {
      this.#open = null;
    }
    if (end.reply !== null) send(end.reply);
  }
}

/** Thrown out of PGlite's transaction callback to roll the transaction back. */
class RollingBack extends Error {}

try {
  const data = workerData as PgliteWorkerData;
  const pglite = await openPglite({
    dataDir: data.dataDir,
    snapshot: data.snapshot === null ? null : new Blob([data.snapshot]),
    schema: data.schema,
    modules: { pgliteWasmModule: data.pgliteWasmModule, initdbWasmModule: data.initdbWasmModule },
  });
  const worker = new PgliteWorker(pglite);
  port.on("message", (request: PgliteWorkerRequest) => worker.receive(request));
  send({ kind: "opened", id: OPEN_REQUEST_ID });
} catch (error) {
  send({ kind: "failed", id: OPEN_REQUEST_ID, error: serializeError(error) });
  port.close();
}
