// The registry's operations, independent of HTTP: registering and looking up schemas under subjects, deleting,
// checking compatibility, and the compatibility and mode settings. Registrations run one at a time under an
// advisory lock on the database, so several registry processes sharing it agree on every id and version.

import type { Database, Queryable } from "../store/index.js";
import {
  compatibilityProblems,
  DEFAULT_COMPATIBILITY_LEVEL,
  isCompatibilityLevel,
  type CompatibilityLevel,
} from "./compatibility.js";
import { RegistryError, RegistryErrorCode } from "./errors.js";
import { avroFormat } from "./formats/avro.js";
import type { ParsedSchema, ResolvedReference, SchemaFormat, SchemaReference, SchemaType } from "./formats/format.js";
import { jsonSchemaFormat } from "./formats/json-schema.js";
import * as registrySql from "./registry-sql.js";
import type { StoredSchema, StoredVersion } from "./registry-sql.js";

export const REGISTRY_MODES = ["READWRITE", "READONLY", "IMPORT"] as const;
export type RegistryMode = (typeof REGISTRY_MODES)[number];

export const DEFAULT_SCHEMA_BYTES_MAX = 1024 * 1024;
export const DEFAULT_SUBJECTS_MAX = 10_000;
export const DEFAULT_VERSIONS_PER_SUBJECT_MAX = 1_000;
export const DEFAULT_PARSED_SCHEMAS_CACHED_MAX = 10_000;
export const REFERENCES_MAX = 100;
export const REFERENCE_DEPTH_MAX = 16;
export const SUBJECT_CHARS_MAX = 255;
const VERSION_MAX = 2_147_483_647;

export interface RegistryLimits {
  schemaBytesMax: number;
  subjectsMax: number;
  versionsPerSubjectMax: number;
  parsedSchemasCachedMax: number;
}

export interface SchemaInput {
  schema: string;
  schemaType: SchemaType;
  references: SchemaReference[];
  normalize: boolean;
}

export interface VersionRecord {
  subject: string;
  id: number;
  version: number;
  schemaType: SchemaType;
  schema: string;
  references: SchemaReference[];
}

const FORMATS: Readonly<Record<SchemaType, SchemaFormat>> = { AVRO: avroFormat, JSON: jsonSchemaFormat };

export function formatOf(type: SchemaType): SchemaFormat {
  return FORMATS[type];
}

const GLOBAL = "";

function notFoundSubject(subject: string): RegistryError {
  return new RegistryError(RegistryErrorCode.SUBJECT_NOT_FOUND, `Subject '${subject}' not found.`);
}

function notFoundVersion(subject: string, version: number | "latest"): RegistryError {
  return new RegistryError(
    RegistryErrorCode.VERSION_NOT_FOUND,
    `Version ${version} not found for subject '${subject}'.`,
  );
}

export function checkSubject(subject: string): string {
  // eslint-disable-next-line no-control-regex
  if (subject === "" || subject.length > SUBJECT_CHARS_MAX || /[\u0000-\u001f\u007f]/.test(subject)) {
    throw new RegistryError(
      RegistryErrorCode.INVALID_SUBJECT,
      `Invalid subject: a subject is 1 to ${SUBJECT_CHARS_MAX} characters without control characters.`,
    );
  }
  return subject;
}

/** A version in a path: a positive integer, or "latest" (or -1). */
export function parseVersion(raw: string): number | "latest" {
  if (raw === "latest" || raw === "-1") return "latest";
  if (/^[1-9][0-9]{0,9}$/.test(raw) && Number(raw) <= VERSION_MAX) return Number(raw);
  throw new RegistryError(
    RegistryErrorCode.INVALID_VERSION,
    `The specified version '${raw}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
  );
}

export class SchemaRegistry {
  private readonly parsedById = new Map<number, ParsedSchema>();
  private readonly storedById = new Map<number, StoredSchema>();
  private readonly lockKey: string;

  constructor(
    private readonly db: Database,
    readonly limits: RegistryLimits,
  ) {
    this.lockKey = registrySql.registrationLockKey(db.schema);
  }

  async schemaById(id: number, subject: string | null): Promise<StoredSchema> {
    const stored = await this.storedSchema(this.db, id);
    if (stored === null || (subject !== null && !(await this.schemaIsUnder(id, subject)))) {
      throw new RegistryError(RegistryErrorCode.SCHEMA_NOT_FOUND, `Schema ${id} not found`);
    }
    return stored;
  }

  private async schemaIsUnder(id: number, subject: string): Promise<boolean> {
    const versions = await registrySql.selectVersionsOfSchema(this.db, id, true);
    return versions.some((version) => version.subject === subject);
  }

  async versionsOfSchema(id: number, includeDeleted: boolean): Promise<{ subject: string; version: number }[]> {
    await this.schemaById(id, null);
    const versions = await registrySql.selectVersionsOfSchema(this.db, id, includeDeleted);
    return versions.map(({ subject, version }) => ({ subject, version }));
  }

  subjects(includeDeleted: boolean, prefix: string): Promise<string[]> {
    return registrySql.selectSubjects(this.db, includeDeleted, prefix);
  }

  async versions(subject: string, includeDeleted: boolean): Promise<number[]> {
    const versions = await registrySql.selectVersions(this.db, subject, includeDeleted);
    if (versions.length === 0) throw notFoundSubject(subject);
    return versions.map((version) => version.version);
  }

  async version(subject: string, version: number | "latest", includeDeleted = false): Promise<VersionRecord> {
    const found = await this.findVersion(this.db, subject, version, includeDeleted);
    return this.recordOf(found);
  }

  private async findVersion(
    db: Queryable,
    subject: string,
    version: number | "latest",
    includeDeleted: boolean,
  ): Promise<StoredVersion> {
    const all = await registrySql.selectVersions(db, subject, true);
    const visible = all.filter((entry) => includeDeleted || !entry.deleted);
    if (visible.length === 0) throw notFoundSubject(subject);
    const found =
      version === "latest" ? visible[visible.length - 1] : visible.find((entry) => entry.version === version);
    if (found === undefined) throw notFoundVersion(subject, version);
    return found;
  }

  private async recordOf(version: StoredVersion): Promise<VersionRecord> {
    const schema = (await this.storedSchema(this.db, version.schemaId)) as StoredSchema;
    return {
      subject: version.subject,
      id: schema.id,
      version: version.version,
      schemaType: schema.schemaType,
      schema: schema.schema,
      references: schema.references,
    };
  }

  /** Registers a schema under a subject; the same schema gets the id it already has, and no new version. */
  async register(subject: string, input: SchemaInput): Promise<number> {
    await this.requireWritable(subject);
    const parsed = await this.parse(this.db, input);
    const text = input.normalize ? parsed.normalized : parsed.canonical;
    const fingerprint = registrySql.schemaFingerprint(input.schemaType, text, input.references);
    const level = await this.compatibilityLevel(subject);
    return this.db.transaction(async (tx) => {
      await registrySql.lockRegistrations(tx, this.lockKey);
      const all = await registrySql.selectVersions(tx, subject, true);
      const live = all.filter((entry) => !entry.deleted);
      const existingId = await registrySql.selectSchemaIdByFingerprint(tx, fingerprint);
      if (existingId !== null && live.some((entry) => entry.schemaId === existingId)) return existingId;
      if (all.length === 0 && (await registrySql.countSubjects(tx)) >= this.limits.subjectsMax) {
        throw new RegistryError(
          RegistryErrorCode.LIMIT_EXCEEDED,
          `The registry holds ${this.limits.subjectsMax} subjects, its limit; delete unused subjects first.`,
        );
      }
      if (all.length >= this.limits.versionsPerSubjectMax) {
        throw new RegistryError(
          RegistryErrorCode.LIMIT_EXCEEDED,
          `Subject '${subject}' has ${all.length} versions, its limit of ${this.limits.versionsPerSubjectMax}.`,
        );
      }
      const problems = await this.problemsAgainst(tx, level, parsed, live);
      if (problems.length > 0) {
        throw new RegistryError(
          RegistryErrorCode.INCOMPATIBLE_SCHEMA,
          `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: ` +
            JSON.stringify(problems),
        );
      }
      const id =
        existingId ?? (await registrySql.insertSchema(tx, input.schemaType, text, input.references, fingerprint));
      const nextVersion = all.reduce((max, entry) => Math.max(max, entry.version), 0) + 1;
      await registrySql.insertVersion(tx, subject, nextVersion, id);
      return id;
    });
  }

  /** The version of `subject` that holds this schema. */
  async lookup(subject: string, input: SchemaInput, includeDeleted: boolean): Promise<VersionRecord> {
    const versions = await registrySql.selectVersions(this.db, subject, includeDeleted);
    if (versions.length === 0) throw notFoundSubject(subject);
    const parsed = await this.parse(this.db, input);
    const text = input.normalize ? parsed.normalized : parsed.canonical;
    const fingerprint = registrySql.schemaFingerprint(input.schemaType, text, input.references);
    const id = await registrySql.selectSchemaIdByFingerprint(this.db, fingerprint);
    let found = id === null ? undefined : versions.findLast((entry) => entry.schemaId === id);
    if (found === undefined && input.normalize) {
      // A schema registered without normalize still matches when both normalize to the same form.
      for (const entry of [...versions].reverse()) {
        const stored = await this.parsedSchema(this.db, entry.schemaId);
        if (stored.normalized === parsed.normalized && stored.schemaType === parsed.schemaType) {
          found = entry;
          break;
        }
      }
    }
    if (found === undefined) throw new RegistryError(RegistryErrorCode.SCHEMA_NOT_FOUND, "Schema not found");
    return this.recordOf(found);
  }

  async checkCompatibility(subject: string, version: number | "latest" | "all", input: SchemaInput): Promise<string[]> {
    const parsed = await this.parse(this.db, input);
    const live = await registrySql.selectVersions(this.db, subject, false);
    let against: StoredVersion[];
    let level = await this.compatibilityLevel(subject);
    if (version === "all") {
      against = live;
    } else {
      if (live.length === 0 && version === "latest") return [];
      against = [await this.findVersion(this.db, subject, version, false)];
      // Against one named version, its transitivity does not matter.
      level = level.replace("_TRANSITIVE", "") as CompatibilityLevel;
    }
    return this.problemsAgainst(this.db, level, parsed, against);
  }

  private async problemsAgainst(
    db: Queryable,
    level: CompatibilityLevel,
    parsed: ParsedSchema,
    versions: readonly StoredVersion[],
  ): Promise<string[]> {
    if (level === "NONE") return [];
    const previous: { version: number; schema: ParsedSchema }[] = [];
    for (const entry of versions)
      previous.push({ version: entry.version, schema: await this.parsedSchema(db, entry.schemaId) });
    return compatibilityProblems(formatOf(parsed.schemaType), level, parsed, previous);
  }

  /** Soft deletes every version of a subject, or with permanent, removes a soft-deleted subject for good. */
  async deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    await this.requireWritable(subject);
    return this.db.transaction(async (tx) => {
      await registrySql.lockRegistrations(tx, this.lockKey);
      const all = await registrySql.selectVersions(tx, subject, true);
      if (all.length === 0) throw notFoundSubject(subject);
      const live = all.filter((entry) => !entry.deleted);
      const numbers = all.map((entry) => entry.version);
      if (permanent) {
        if (live.length > 0) {
          throw new RegistryError(
            RegistryErrorCode.SUBJECT_NOT_SOFT_DELETED,
            `Subject '${subject}' was not deleted first before being permanently deleted`,
          );
        }
        await registrySql.deleteVersions(tx, subject, numbers);
        await registrySql.upsertSetting(tx, subject, "compatibility", null);
        return numbers;
      }
      if (live.length === 0) {
        throw new RegistryError(
          RegistryErrorCode.SUBJECT_SOFT_DELETED,
          `Subject '${subject}' was soft deleted. Set permanent=true to delete permanently`,
        );
      }
      await registrySql.softDeleteVersions(
        tx,
        subject,
        live.map((entry) => entry.version),
      );
      return live.map((entry) => entry.version);
    });
  }

  async deleteVersion(subject: string, version: number | "latest", permanent: boolean): Promise<number> {
    await this.requireWritable(subject);
    return this.db.transaction(async (tx) => {
      await registrySql.lockRegistrations(tx, this.lockKey);
      const found = await this.findVersion(tx, subject, version, permanent);
      if (permanent) {
        if (!found.deleted) {
          throw new RegistryError(
            RegistryErrorCode.VERSION_NOT_SOFT_DELETED,
            `Subject '${subject}' Version ${found.version} was not deleted first before being permanently deleted`,
          );
        }
        await registrySql.deleteVersions(tx, subject, [found.version]);
      } else {
        await registrySql.softDeleteVersions(tx, subject, [found.version]);
      }
      return found.version;
    });
  }

  async referencedBy(subject: string, version: number | "latest"): Promise<number[]> {
    const found = await this.findVersion(this.db, subject, version, false);
    return registrySql.selectReferencingSchemaIds(this.db, subject, found.version);
  }

  /** The level that applies to a subject: its own, else the global one, else BACKWARD. */
  async compatibilityLevel(subject: string): Promise<CompatibilityLevel> {
    const own = await registrySql.selectSetting(this.db, subject, "compatibility");
    if (isCompatibilityLevel(own)) return own;
    const global = await registrySql.selectSetting(this.db, GLOBAL, "compatibility");
    return isCompatibilityLevel(global) ? global : DEFAULT_COMPATIBILITY_LEVEL;
  }

  /** A subject's own level (null when it has none), or the global level for subject null. */
  async ownCompatibilityLevel(subject: string | null): Promise<CompatibilityLevel | null> {
    const value = await registrySql.selectSetting(this.db, subject ?? GLOBAL, "compatibility");
    if (isCompatibilityLevel(value)) return value;
    return subject === null ? DEFAULT_COMPATIBILITY_LEVEL : null;
  }

  async setCompatibilityLevel(subject: string | null, level: CompatibilityLevel | null): Promise<void> {
    await registrySql.upsertSetting(this.db, subject ?? GLOBAL, "compatibility", level);
  }

  async mode(subject: string | null): Promise<RegistryMode> {
    if (subject !== null) {
      const own = await registrySql.selectSetting(this.db, subject, "mode");
      if (own !== null) return own as RegistryMode;
    }
    const global = await registrySql.selectSetting(this.db, GLOBAL, "mode");
    return (global as RegistryMode | null) ?? "READWRITE";
  }

  async setMode(subject: string | null, mode: RegistryMode): Promise<void> {
    await registrySql.upsertSetting(this.db, subject ?? GLOBAL, "mode", mode);
  }

  private async requireWritable(subject: string): Promise<void> {
    if ((await this.mode(subject)) === "READONLY") {
      throw new RegistryError(RegistryErrorCode.OPERATION_NOT_PERMITTED, `Subject ${subject} is in read-only mode`);
    }
  }

  /** Parses a schema with its references, checking the size and reference limits first. */
  async parse(db: Queryable, input: SchemaInput): Promise<ParsedSchema> {
    const bytes = Buffer.byteLength(input.schema);
    if (bytes > this.limits.schemaBytesMax) {
      throw new RegistryError(
        RegistryErrorCode.INVALID_SCHEMA,
        `Invalid schema: it is ${bytes} bytes, over the limit of ${this.limits.schemaBytesMax}`,
      );
    }
    const references = await this.resolveReferences(db, input.references, 0);
    return formatOf(input.schemaType).parse(input.schema, references);
  }

  private async resolveReferences(
    db: Queryable,
    references: readonly SchemaReference[],
    depth: number,
  ): Promise<ResolvedReference[]> {
    if (references.length > REFERENCES_MAX || depth > REFERENCE_DEPTH_MAX) {
      throw new RegistryError(
        RegistryErrorCode.INVALID_SCHEMA,
        `Invalid schema: more than ${REFERENCES_MAX} references, or references nested deeper than ${REFERENCE_DEPTH_MAX}`,
      );
    }
    const resolved: ResolvedReference[] = [];
    for (const reference of references) {
      let found: StoredVersion;
      try {
        found = await this.findVersion(db, reference.subject, reference.version, false);
      } catch (error) {
        if (error instanceof RegistryError) {
          throw new RegistryError(
            RegistryErrorCode.INVALID_SCHEMA,
            `Invalid schema: reference ${reference.name} (subject ${reference.subject} version ${reference.version}) ` +
              "is not registered",
          );
        }
        throw error;
      }
      const stored = (await this.storedSchema(db, found.schemaId)) as StoredSchema;
      resolved.push({
        name: reference.name,
        schemaType: stored.schemaType,
        schema: stored.schema,
        references: await this.resolveReferences(db, stored.references, depth + 1),
      });
    }
    return resolved;
  }

  /** A stored schema; ids never change what they name, so they are cached (up to a limit). */
  private async storedSchema(db: Queryable, id: number): Promise<StoredSchema | null> {
    const cached = this.storedById.get(id);
    if (cached !== undefined) return cached;
    const stored = await registrySql.selectSchemaById(db, id);
    if (stored !== null) remember(this.storedById, id, stored, this.limits.parsedSchemasCachedMax);
    return stored;
  }

  private async parsedSchema(db: Queryable, id: number): Promise<ParsedSchema> {
    const cached = this.parsedById.get(id);
    if (cached !== undefined) return cached;
    const stored = (await this.storedSchema(db, id)) as StoredSchema;
    const parsed = await this.parse(db, { ...stored, normalize: false });
    remember(this.parsedById, id, parsed, this.limits.parsedSchemasCachedMax);
    return parsed;
  }
}

/** Adds to a cache, forgetting the oldest entry when it is full. */
function remember<K, V>(cache: Map<K, V>, key: K, value: V, sizeMax: number): void {
  if (cache.size >= sizeMax) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(key, value);
}
