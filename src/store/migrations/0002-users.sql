-- Accounts for the gateway's sign-in (POST /api/auth/register and /api/auth/login). Passwords are stored only as
-- scrypt hashes that carry their own parameters.
CREATE TABLE sluice_users (
  id uuid PRIMARY KEY,
  -- The gateway checks the same rule before inserting; the constraint keeps other writers to it too.
  username text NOT NULL CONSTRAINT sluice_users_username_valid CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$'),
  password_hash text NOT NULL
    CONSTRAINT sluice_users_password_hash_length CHECK (length(password_hash) BETWEEN 1 AND 512),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Usernames are unique regardless of case, so "Ada" and "ada" cannot be two people.
CREATE UNIQUE INDEX sluice_users_username_key ON sluice_users (lower(username));
