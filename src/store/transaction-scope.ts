// Detects a caller using the database itself, instead of the transaction handle, inside transaction(). With PGlite
// that call would wait forever for the transaction it is part of; with a server it would silently run outside the
// transaction. PGlite always rejects it; a server only when asked to (detectNestedUse), because on Node 22 an active
// AsyncLocalStorage makes Node track the context of every promise in the process, a cost a busy consumer feels.

import { AsyncLocalStorage } from "node:async_hooks";

import { StoreError, StoreErrorCode } from "./errors.js";

const openTransactions = new AsyncLocalStorage<ReadonlySet<object>>();

/** Runs work with owners (the database, and the session when there is one) marked as inside a transaction. */
export function runInTransactionScope<T>(owners: readonly object[], work: () => Promise<T>): Promise<T> {
  const next = new Set(openTransactions.getStore() ?? []);
  for (const owner of owners) next.add(owner);
  return openTransactions.run(next, work);
}

export function assertOutsideTransaction(owner: object, operation: string): void {
  if (openTransactions.getStore()?.has(owner)) {
    throw new StoreError(
      StoreErrorCode.NESTED_DATABASE_USE,
      `${operation} was called on the database inside one of its own transactions; use the transaction handle ` +
        "passed to the work function instead (or start background work outside the transaction)",
    );
  }
}

/** Runs a callback outside every transaction scope, for work that merely happens to be triggered by one. */
export function runOutsideTransactionScope(callback: () => void): void {
  openTransactions.exit(callback);
}
