-- The application service's applications, one per job and applicant.
CREATE TABLE applications (
  id uuid PRIMARY KEY,
  job_id text NOT NULL,
  job_title text NOT NULL,
  employer_id text NOT NULL,
  applicant_id text NOT NULL,
  applicant_username text NOT NULL,
  cover_letter text NOT NULL DEFAULT '',
  status text NOT NULL CONSTRAINT applications_status CHECK (status IN ('submitted', 'reviewed', 'accepted', 'rejected')),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT applications_one_per_job UNIQUE (job_id, applicant_id)
);
CREATE INDEX applications_employer ON applications (employer_id, created_at DESC);
CREATE INDEX applications_applicant ON applications (applicant_id, created_at DESC);

-- The jobs this service knows of, from job events (never from the job service's tables): who owns each, its title,
-- and whether it was deleted. The version keeps the newest when events arrive out of order.
CREATE TABLE known_jobs (
  id text PRIMARY KEY,
  employer_id text NOT NULL,
  title text NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  version integer NOT NULL
);
