-- Wordium's accounts, owned by its auth service. A row and its user.auth.signup event are written in one
-- transaction (the event through the outbox), so every account is announced exactly when it exists.
CREATE TABLE accounts (
  id uuid PRIMARY KEY,
  username text NOT NULL CONSTRAINT accounts_username_length CHECK (char_length(username) BETWEEN 3 AND 32),
  email text NOT NULL CONSTRAINT accounts_email_length CHECK (char_length(email) BETWEEN 3 AND 254),
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Names and addresses are unique whatever their case, so "Ada" cannot sign up beside "ada".
CREATE UNIQUE INDEX accounts_username_unique ON accounts (lower(username));
CREATE UNIQUE INDEX accounts_email_unique ON accounts (lower(email));
