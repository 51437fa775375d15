-- The search service's own index, fed only by job and user events. A deleted job stays as a tombstone (deleted,
-- with its version), so that an older event arriving after the deletion cannot bring it back.
CREATE TABLE search_jobs (
  id text PRIMARY KEY,
  version integer NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  employer_id text NOT NULL DEFAULT '',
  title text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  company text NOT NULL DEFAULT '',
  location text NOT NULL DEFAULT '',
  remote boolean NOT NULL DEFAULT false,
  created_at timestamptz,
  document tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A') ||
    setweight(to_tsvector('english', company || ' ' || location), 'B') ||
    setweight(to_tsvector('english', description), 'C')
  ) STORED
);
CREATE INDEX search_jobs_document ON search_jobs USING gin (document);

CREATE TABLE search_users (
  id text PRIMARY KEY,
  version integer NOT NULL,
  username text NOT NULL,
  user_type text NOT NULL,
  first_name text NOT NULL DEFAULT '',
  last_name text NOT NULL DEFAULT '',
  bio text NOT NULL DEFAULT '',
  location text NOT NULL DEFAULT '',
  document tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', username || ' ' || first_name || ' ' || last_name), 'A') ||
    setweight(to_tsvector('english', location), 'B') ||
    setweight(to_tsvector('english', bio), 'C')
  ) STORED
);
CREATE INDEX search_users_document ON search_users USING gin (document);
