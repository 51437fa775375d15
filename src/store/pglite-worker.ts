// PGlite's worker thread: runs PostgreSQL's WebAssembly off the thread that serves HTTP, the relay and the broker, so
// that the two halves of a request's CPU (JavaScript and PostgreSQL) run on two cores. It runs the requests of
// pglite-worker-protocol.ts one at a time, in the order they arrive; while a transaction is open, only that
// transaction's statements run, and the rest wait for its end, as PGlite's own lock makes them do in one thread.

import { parentPort, workerData } from "node:worker_threads";

import type { PGlite, Results, Transaction } from "@electric-sql/pglite";

import { Fifo } from "./fifo.js";
import { assertNotAborted, openPglite, rowCountOf, runWithSearchPath } from "./pglite-instance.js";
import {
  OPEN_REQUEST_ID,
  serializeError,
  type PgliteWorkerData,
  type PgliteWorkerReply,
  type PgliteWorkerRequest,
  type SerializedError,
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

/**
 * A transaction from its first statement on: it takes its later statements and its end as they arrive, while it waits
 * for its turn and while it runs, so that they never wait in the queue of other calls.
 */
interface QueuedTransaction {
  readonly kind: "transaction";
  readonly id: number;
  readonly first: StatementRequest;
  readonly inbox: Fifo<TransactionRequest>;
  wake: (() => void) | null;
  /**
   * Why the transaction ended before its end arrived (BEGIN or its search path failed): its later statements fail
   * with it, and its end takes it away. The client sends an end for every transaction it sent a statement of.
   */
  failed: SerializedError | null;
}

class PgliteWorker {
  /** What runs next in arrival order: calls outside transactions, and transactions in their first statement's place. */
  readonly #queue = new Fifo<PgliteWorkerRequest | QueuedTransaction>();
  /** The transactions waiting for their turn or running, by id. */
  readonly #transactions = new Map<number, QueuedTransaction>();
  #running = false;
  readonly #unlistens = new Map<number, () => Promise<void>>();

  constructor(private readonly pglite: PGlite) {}

  receive(request: PgliteWorkerRequest): void {
    if ("transactionId" in request && request.transactionId !== null) {
      const transaction = this.#transactions.get(request.transactionId);
      if (transaction?.failed != null) {
        this.#refuseInFailed(transaction, request as TransactionRequest, transaction.failed);
        return;
      }
      if (transaction !== undefined) {
        transaction.inbox.push(request);
        transaction.wake?.();
        return;
      }
      // An end without its transaction ends one that never began, and waits for its turn like any call.
      if (request.kind !== "end") {
        const id = request.transactionId;
        const queued: QueuedTransaction = {
          kind: "transaction",
          id,
          first: request,
          inbox: new Fifo(),
          wake: null,
          failed: null,
        };
        queued.inbox.push(request);
        this.#transactions.set(id, queued);
        this.#enqueue(queued);
        return;
      }
    }
    this.#enqueue(request);
  }

  /**
   * A request of a transaction that ended early: a statement fails as the transaction did, as it would had it run
   * inside it (the work may have caught the first failure and gone on); the end reports the rollback and forgets it.
   */
  #refuseInFailed(transaction: QueuedTransaction, request: TransactionRequest, error: SerializedError): void {
    if (request.kind !== "end") {
      send({ kind: "failed", id: request.id, error });
      return;
    }
    this.#transactions.delete(transaction.id);
    // As when the end was waiting at the failure: a commit fails with the reason, a rollback has nothing to undo.
    send(request.commit ? { kind: "failed", id: request.id, error } : { kind: "ok", id: request.id });
  }

  #enqueue(turn: PgliteWorkerRequest | QueuedTransaction): void {
    this.#queue.push(turn);
    if (!this.#running) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#running = true;
    for (let turn = this.#queue.shift(); turn !== undefined; turn = this.#queue.shift()) await this.#run(turn);
    this.#running = false;
  }

  async #run(turn: PgliteWorkerRequest | QueuedTransaction): Promise<void> {
    const request = turn.kind === "transaction" ? turn.first : turn;
    try {
      if (turn.kind === "transaction") {
        await this.#runTransaction(turn);
        return;
      }
      switch (request.kind) {
        case "query":
        case "exec":
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
  async #runTransaction(open: QueuedTransaction): Promise<void> {
    const { first, inbox } = open;
    const next = async (): Promise<TransactionRequest> => {
      while (inbox.length === 0) await new Promise<void>((resolve) => (open.wake = resolve));
      open.wake = null;
      return inbox.shift() as TransactionRequest;
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
        let endArrived = end.reply !== null;
        for (let request = inbox.shift(); request !== undefined; request = inbox.shift()) {
          send({ kind: "failed", id: request.id, error: failed });
          if (request.kind === "end") endArrived = true;
        }
        // Until its end arrives, the transaction stays known as failed, so that a statement sent after the failure
        // does not begin a new transaction under its id.
        if (!endArrived) open.failed = failed;
      }
    } finally {
      if (open.failed === null) this.#transactions.delete(open.id);
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
