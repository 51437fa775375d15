-- The message board's stored messages. A row is written by the worker when it consumes a messages.saved event, in
-- the same transaction as the event's inbox record, so each accepted message is stored exactly once.
CREATE TABLE messages (
  -- The id of the messages.saved event, which the API returned when it accepted the message.
  id uuid PRIMARY KEY,
  -- The order messages were stored in: the board lists newest first and pages by it.
  seq bigserial NOT NULL UNIQUE,
  body text NOT NULL CONSTRAINT messages_body_length CHECK (char_length(body) BETWEEN 1 AND 10000),
  template text NOT NULL CONSTRAINT messages_template_valid CHECK (template ~ '^[a-z][a-z0-9-]{0,31}$'),
  -- The signed-in user who posted it, or NULL for an anonymous message.
  author text CONSTRAINT messages_author_length CHECK (char_length(author) BETWEEN 1 AND 255),
  accepted_at timestamptz NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now()
);
