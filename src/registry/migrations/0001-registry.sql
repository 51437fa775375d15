-- The schema registry's tables, in the registry's own schema. A schema (its type, text and references) is stored
-- once and keeps its id forever; subjects are versioned lists of schema ids.
CREATE TABLE registry_schemas (
  -- Global ids, handed out under the registry's advisory lock, so processes sharing the database agree on them.
  id integer PRIMARY KEY CONSTRAINT registry_schemas_id_positive CHECK (id > 0),
  schema_type text NOT NULL CONSTRAINT registry_schemas_type_known CHECK (schema_type IN ('AVRO', 'JSON')),
  schema_text text NOT NULL,
  -- [{ "name", "subject", "version" }] as registered.
  schema_references jsonb NOT NULL DEFAULT '[]',
  -- SHA-256 of the type, text and references: one row per distinct schema.
  fingerprint text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE registry_subject_versions (
  subject text NOT NULL,
  version integer NOT NULL CONSTRAINT registry_subject_versions_version_positive CHECK (version > 0),
  schema_id integer NOT NULL REFERENCES registry_schemas (id),
  -- Soft-deleted versions are hidden from reads and compatibility checks until deleted for good.
  deleted boolean NOT NULL DEFAULT false,
  registered_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subject, version)
);

CREATE INDEX registry_subject_versions_schema_id ON registry_subject_versions (schema_id);

-- Compatibility levels and modes; the subject '' holds the global setting.
CREATE TABLE registry_settings (
  subject text PRIMARY KEY,
  compatibility text,
  mode text
);
