-- The user service's accounts. version grows by one with every change, and each change's user event carries it.
CREATE TABLE users (
  id uuid PRIMARY KEY,
  username text NOT NULL UNIQUE CONSTRAINT users_username_length CHECK (char_length(username) BETWEEN 3 AND 150),
  email text NOT NULL UNIQUE CONSTRAINT users_email_length CHECK (char_length(email) BETWEEN 3 AND 254),
  password_hash text NOT NULL,
  user_type text NOT NULL CONSTRAINT users_user_type CHECK (user_type IN ('employer', 'job_seeker')),
  first_name text NOT NULL DEFAULT '',
  last_name text NOT NULL DEFAULT '',
  bio text NOT NULL DEFAULT '',
  location text NOT NULL DEFAULT '',
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
