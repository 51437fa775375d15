// Statements for the gateway's users table (sluice_users, store migration 0002).

import { sql, type SqlStatement } from "../../store/sql/statement.js";

export interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  created_at: Date;
}

/** Inserts a user; returns no row when the username (in any letter case) is taken. */
export function insertUser(id: string, username: string, passwordHash: string): SqlStatement<{ id: string }> {
  return sql(
    "INSERT INTO sluice_users (id, username, password_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING id",
    [id, username, passwordHash],
  );
}

export function selectUserByUsername(username: string): SqlStatement<UserRow> {
  return sql("SELECT id, username, password_hash, created_at FROM sluice_users WHERE lower(username) = lower($1)", [
    username,
  ]);
}
