// Server-side prepared statements for repeated writes. Each statement sent to a server is parsed, analysed and
// planned again unless it is prepared under a name; for a handler's one-row INSERT that was a fifth of the server's
// time in the consumer benchmark. pg prepares a statement on a connection the first time it runs a query with a
// given name and reuses it afterwards, so naming the statement is all it takes.
//
// Only statements that return no columns are named (INSERT, UPDATE or DELETE without RETURNING): a prepared
// statement whose result columns change, after an ALTER TABLE under a `SELECT *`, fails with "cached plan must not
// change result type", and a statement without columns cannot meet that. A statement is named from its second run
// on, once its first run showed that it has no columns and that it runs again. Names are never reused for another
// text, and at most preparedMax are handed out per database, which bounds what each connection holds.

/** Statement texts seen once and remembered, waiting for a second run; the set starts over when it is full. */
export const SEEN_ONCE_MAX = 1_000;
/** Names handed out per database (and so statements prepared per connection), unless the options say otherwise. */
export const DEFAULT_PREPARED_STATEMENTS_MAX = 200;
export const PREPARED_STATEMENTS_MAX = 10_000;
/** A statement text longer than this is never prepared; long texts are rarely run twice. */
export const PREPARED_STATEMENT_CHARS_MAX = 10_000;

/** SQLSTATE of "prepared statement does not exist", after a DEALLOCATE or DISCARD on the connection. */
const UNDEFINED_PREPARED_STATEMENT = "26000";

export class PreparedStatements {
  readonly #namesByText = new Map<string, string>();
  readonly #seenOnce = new Set<string>();
  #named = 0;

  constructor(private readonly preparedMax: number) {}

  /** The name to run text under, or undefined to run it unnamed. */
  nameFor(text: string): string | undefined {
    return this.#namesByText.get(text);
  }

  /** Learns from a successful unnamed run of text whether later runs should be prepared. */
  noteRun(text: string, resultColumns: number): void {
    if (resultColumns > 0 || this.#named >= this.preparedMax || text.length > PREPARED_STATEMENT_CHARS_MAX) return;
    if (!this.#seenOnce.has(text)) {
      if (this.#seenOnce.size >= SEEN_ONCE_MAX) this.#seenOnce.clear();
      this.#seenOnce.add(text);
      return;
    }
    this.#seenOnce.delete(text);
    this.#named += 1;
    this.#namesByText.set(text, `sluice_${this.#named}`);
  }

  /**
   * Learns from a failed named run: when the connection lost the statement (a DEALLOCATE or DISCARD ran on it), the
   * text runs unnamed from now on, since pg would go on assuming that the connection still holds it.
   */
  noteFailure(text: string, error: unknown): void {
    if (
      typeof error === "object" &&
      error !== null &&
      (error as { code?: unknown }).code === UNDEFINED_PREPARED_STATEMENT
    ) {
      this.#namesByText.delete(text);
    }
  }
}
