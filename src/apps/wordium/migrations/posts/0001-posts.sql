-- Wordium's posts, owned by its posts service. A post and its post.created event are written in one transaction
-- (the event through the outbox), so a post is accepted even while every consumer of the event is down.
CREATE TABLE posts (
  id uuid PRIMARY KEY,
  -- The order posts were written in: lists are newest first and page by it.
  seq bigserial NOT NULL UNIQUE,
  author_id uuid NOT NULL,
  author text NOT NULL,
  title text NOT NULL CONSTRAINT posts_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
  body text NOT NULL CONSTRAINT posts_body_length CHECK (char_length(body) BETWEEN 1 AND 20000),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX posts_author_seq ON posts (lower(author), seq DESC);
