-- The job service's postings. version grows by one with every change, and each change's job event carries it.
CREATE TABLE jobs (
  id uuid PRIMARY KEY,
  employer_id text NOT NULL,
  title text NOT NULL CONSTRAINT jobs_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
  description text NOT NULL CONSTRAINT jobs_description_length CHECK (char_length(description) BETWEEN 1 AND 10000),
  company text NOT NULL DEFAULT '',
  location text NOT NULL DEFAULT '',
  remote boolean NOT NULL DEFAULT false,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_employer ON jobs (employer_id, created_at DESC);
CREATE INDEX jobs_created ON jobs (created_at DESC, id);
