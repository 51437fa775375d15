// The registry's SQL: schemas by id and fingerprint, subjects' versions, and the compatibility and mode settings.

import { createHash } from "node:crypto";

import type { Queryable } from "../store/index.js";
import type { SchemaReference, SchemaType } from "./formats/format.js";

export interface StoredSchema {
  id: number;
  schemaType: SchemaType;
  schema: string;
  references: SchemaReference[];
}

export interface StoredVersion {
  subject: string;
  version: number;
  schemaId: number;
  deleted: boolean;
}

interface SchemaRow {
  id: number;
  schema_type: SchemaType;
  schema_text: string;
  schema_references: SchemaReference[] | string;
}

interface VersionRow {
  subject: string;
  version: number;
  schema_id: number;
  deleted: boolean;
}

function toSchema(row: SchemaRow): StoredSchema {
  const references =
    typeof row.schema_references === "string" ? JSON.parse(row.schema_references) : row.schema_references;
  return {
    id: row.id,
    schemaType: row.schema_type,
    schema: row.schema_text,
    references: references as SchemaReference[],
  };
}

function toVersion(row: VersionRow): StoredVersion {
  return { subject: row.subject, version: row.version, schemaId: row.schema_id, deleted: row.deleted };
}

/** One row per distinct schema: type, text and references. */
export function schemaFingerprint(
  schemaType: SchemaType,
  text: string,
  references: readonly SchemaReference[],
): string {
  const canonicalReferences = references.map((reference) => [reference.name, reference.subject, reference.version]);
  return createHash("sha256")
    .update(JSON.stringify([schemaType, text, canonicalReferences]))
    .digest("hex");
}

/** The key of the lock every registration takes, so that processes sharing the database hand out ids in turn. */
export function registrationLockKey(schema: string): string {
  return createHash("sha256").update(`sluice:registry-registration:${schema}`).digest().readBigInt64BE(0).toString();
}

export async function lockRegistrations(tx: Queryable, key: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [key]);
}

const SCHEMA_COLUMNS = "id, schema_type, schema_text, schema_references";
const VERSION_COLUMNS = "subject, version, schema_id, deleted";

export async function selectSchemaById(db: Queryable, id: number): Promise<StoredSchema | null> {
  const { rows } = await db.query<SchemaRow>(`SELECT ${SCHEMA_COLUMNS} FROM registry_schemas WHERE id = $1`, [id]);
  return rows[0] === undefined ? null : toSchema(rows[0]);
}

export async function selectSchemaIdByFingerprint(db: Queryable, fingerprint: string): Promise<number | null> {
  const { rows } = await db.query<{ id: number }>("SELECT id FROM registry_schemas WHERE fingerprint = $1", [
    fingerprint,
  ]);
  return rows[0]?.id ?? null;
}

export async function insertSchema(
  tx: Queryable,
  schemaType: SchemaType,
  text: string,
  references: readonly SchemaReference[],
  fingerprint: string,
): Promise<number> {
  const { rows } = await tx.query<{ id: number }>(
    `INSERT INTO registry_schemas (id, schema_type, schema_text, schema_references, fingerprint)
     SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3::jsonb, $4 FROM registry_schemas RETURNING id`,
    [schemaType, text, JSON.stringify(references), fingerprint],
  );
  return (rows[0] as { id: number }).id;
}

export async function selectVersions(
  db: Queryable,
  subject: string,
  includeDeleted: boolean,
): Promise<StoredVersion[]> {
  const { rows } = await db.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM registry_subject_versions
     WHERE subject = $1 AND ($2 OR NOT deleted) ORDER BY version`,
    [subject, includeDeleted],
  );
  return rows.map(toVersion);
}

export async function selectVersionsOfSchema(
  db: Queryable,
  schemaId: number,
  includeDeleted: boolean,
): Promise<StoredVersion[]> {
  const { rows } = await db.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM registry_subject_versions
     WHERE schema_id = $1 AND ($2 OR NOT deleted) ORDER BY subject, version`,
    [schemaId, includeDeleted],
  );
  return rows.map(toVersion);
}

export async function selectSubjects(db: Queryable, includeDeleted: boolean, prefix: string): Promise<string[]> {
  const { rows } = await db.query<{ subject: string }>(
    `SELECT DISTINCT subject FROM registry_subject_versions
     WHERE ($1 OR NOT deleted) AND starts_with(subject, $2) ORDER BY subject`,
    [includeDeleted, prefix],
  );
  return rows.map((row) => row.subject);
}

export async function countSubjects(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ count: number }>(
    "SELECT count(DISTINCT subject)::integer AS count FROM registry_subject_versions",
  );
  return rows[0]?.count ?? 0;
}

export async function insertVersion(tx: Queryable, subject: string, version: number, schemaId: number): Promise<void> {
  await tx.query("INSERT INTO registry_subject_versions (subject, version, schema_id) VALUES ($1, $2, $3)", [
    subject,
    version,
    schemaId,
  ]);
}

export async function softDeleteVersions(tx: Queryable, subject: string, versions: readonly number[]): Promise<void> {
  await tx.query(
    "UPDATE registry_subject_versions SET deleted = true WHERE subject = $1 AND version = ANY($2::integer[])",
    [subject, versions],
  );
}

export async function deleteVersions(tx: Queryable, subject: string, versions: readonly number[]): Promise<void> {
  await tx.query("DELETE FROM registry_subject_versions WHERE subject = $1 AND version = ANY($2::integer[])", [
    subject,
    versions,
  ]);
}

/** Ids of schemas whose references name this subject and version. */
export async function selectReferencingSchemaIds(db: Queryable, subject: string, version: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT id FROM registry_schemas WHERE schema_references @> $1::jsonb ORDER BY id`,
    [JSON.stringify([{ subject, version }])],
  );
  return rows.map((row) => row.id);
}

export type SettingName = "compatibility" | "mode";

/** A subject's own setting, or the global one for the subject "". */
export async function selectSetting(db: Queryable, subject: string, name: SettingName): Promise<string | null> {
  const { rows } = await db.query<{ value: string | null }>(
    `SELECT ${name} AS value FROM registry_settings WHERE subject = $1`,
    [subject],
  );
  return rows[0]?.value ?? null;
}

export async function upsertSetting(
  db: Queryable,
  subject: string,
  name: SettingName,
  value: string | null,
): Promise<void> {
  await db.query(
    `INSERT INTO registry_settings (subject, ${name}) VALUES ($1, $2)
     ON CONFLICT (subject) DO UPDATE SET ${name} = EXCLUDED.${name}`,
    [subject, value],
  );
}
