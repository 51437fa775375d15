-- Wordium's profiles, follows and post counts, owned by its users service. Profiles are created by the consumer of
-- user.auth.signup and post counts by the consumer of post.created; follows are written by the follow API, each
-- new one with its user-notifications event in the same transaction.
CREATE TABLE profiles (
  user_id uuid PRIMARY KEY,
  username text NOT NULL,
  joined_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX profiles_username_unique ON profiles (lower(username));

CREATE TABLE follows (
  follower_id uuid NOT NULL,
  follower_name text NOT NULL,
  followee_id uuid NOT NULL,
  followed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (follower_id, followee_id),
  CONSTRAINT follows_not_self CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_followee ON follows (followee_id);

-- Each post counted once, also when its event comes again after the inbox has forgotten it.
CREATE TABLE counted_posts (
  post_id uuid PRIMARY KEY,
  author_id uuid NOT NULL
);

CREATE TABLE post_counts (
  user_id uuid PRIMARY KEY,
  post_count bigint NOT NULL DEFAULT 0
);
