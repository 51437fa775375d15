// The SQL of the messages table: storing a message once, and reading the board newest first, a page at a time.

import type { Queryable } from "../../toolkit/index.js";

export interface StoredMessage {
  id: string;
  text: string;
  template: string;
  author: string | null;
  acceptedAt: string;
  storedAt: string;
  /** The message's place in the board's order; `?before=<cursor>` lists the messages stored before it. */
  cursor: string;
}

export interface NewMessage {
  id: string;
  text: string;
  template: string;
  author: string | null;
  acceptedAt: string;
}

interface MessageRow {
  id: string;
  seq: number | bigint | string;
  body: string;
  template: string;
  author: string | null;
  accepted_at: Date;
  stored_at: Date;
}

const COLUMNS = "id, seq, body, template, author, accepted_at, stored_at";

function toMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    text: row.body,
    template: row.template,
    author: row.author,
    acceptedAt: row.accepted_at.toISOString(),
    storedAt: row.stored_at.toISOString(),
    cursor: String(row.seq),
  };
}

/** What storing a message adds to it: its place in the board's order and when it was stored. */
export interface StoredMark {
  id: string;
  cursor: string;
  storedAt: string;
}

/** The columns an INSERT returns: only what the stored event needs, not the text the worker already has. */
const MARK_COLUMNS = "id, seq, stored_at";

type MarkRow = Pick<MessageRow, "id" | "seq" | "stored_at">;

function toMark(row: MarkRow): StoredMark {
  return { id: row.id, cursor: String(row.seq), storedAt: row.stored_at.toISOString() };
}

/**
 * Stores a message unless one with its id is already stored; returns its id, cursor and stored time, or null when
 * it was there already (a redelivery the inbox no longer remembered).
 */
export async function insertMessage(tx: Queryable, message: NewMessage): Promise<StoredMark | null> {
  const { rows } = await tx.query<MarkRow>(
    `INSERT INTO messages (id, body, template, author, accepted_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO NOTHING RETURNING ${MARK_COLUMNS}`,
    [message.id, message.text, message.template, message.author, message.acceptedAt],
  );
  const row = rows[0];
  return row === undefined ? null : toMark(row);
}

/**
 * insertMessage for many messages in one statement; returns the messages stored now, in the order given (those
 * already stored are left out). The ids must differ.
 */
export async function insertMessages(tx: Queryable, messages: readonly NewMessage[]): Promise<StoredMark[]> {
  if (messages.length === 0) return [];
  const params: unknown[] = [];
  const tuples = messages.map((message) => {
    const at = params.length;
    params.push(message.id, message.text, message.template, message.author, message.acceptedAt);
    return `($${at + 1}::uuid, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5}::timestamptz)`;
  });
  // The rows are inserted in the order given, so each one's seq follows the one before it.
  const { rows } = await tx.query<MarkRow>(
    `INSERT INTO messages (id, body, template, author, accepted_at) VALUES ${tuples.join(", ")}
     ON CONFLICT (id) DO NOTHING RETURNING ${MARK_COLUMNS}`,
    params,
  );
  // seq is a number, or a BigInt past 2^53 (the store's int8 parser), and the two do not mix in a subtraction.
  return rows
    .sort((left, right) => (BigInt(left.seq) < BigInt(right.seq) ? -1 : BigInt(left.seq) > BigInt(right.seq) ? 1 : 0))
    .map(toMark);
}

export interface MessagePage {
  messages: StoredMessage[];
  /** Pass as `before` to read the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** Up to limit messages stored before the cursor (all, when null), newest first. */
export async function selectMessages(db: Queryable, before: string | null, limit: number): Promise<MessagePage> {
  // One row more than asked shows whether another page follows.
  const { rows } =
    before === null
      ? await db.query<MessageRow>(`SELECT ${COLUMNS} FROM messages ORDER BY seq DESC LIMIT $1`, [limit + 1])
      : await db.query<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE seq < $1 ORDER BY seq DESC LIMIT $2`, [
          before,
          limit + 1,
        ]);
  const messages = rows.slice(0, limit).map(toMessage);
  const last = messages[messages.length - 1];
  return { messages, nextCursor: rows.length > limit && last !== undefined ? last.cursor : null };
}

export async function selectMessage(db: Queryable, id: string): Promise<StoredMessage | null> {
  const { rows } = await db.query<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE id = $1`, [id]);
  const row = rows[0];
  return row === undefined ? null : toMessage(row);
}
