// Wordium's topics, named as its team named them. The services talk only through these: auth announces signups,
// posts announce new posts, users tell each user about new followers (keyed by the recipient's user id, so the
// topic is each user's private stream on the WebSocket gateway), and administrators' announcements go to everyone.

import { Type } from "@sinclair/typebox";

import { defineTopic, type EventOf } from "../../toolkit/index.js";

export const USERNAME_CHARS_MAX = 32;
export const EMAIL_CHARS_MAX = 254;
export const POST_TITLE_CHARS_MAX = 200;
/** How much of a post's body its post.created event carries: enough for an alert, not the whole post. */
export const POST_EXCERPT_CHARS_MAX = 280;
export const BROADCAST_MESSAGE_CHARS_MAX = 1_000;

/** Lower-case UUIDs, as the services generate them. */
export const UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

const userId = Type.String({ pattern: UUID_PATTERN });
const username = Type.String({ minLength: 1, maxLength: USERNAME_CHARS_MAX });
const timestamp = Type.String({ minLength: 1, maxLength: 64 });

export const userSignedUpTopic = defineTopic({
  name: "user.auth.signup",
  partitions: 3,
  eventType: "UserSignedUp",
  schema: Type.Object({
    userId,
    username,
    email: Type.String({ minLength: 3, maxLength: EMAIL_CHARS_MAX }),
    signedUpAt: timestamp,
  }),
  key: (signup) => signup.userId,
});
export type UserSignedUp = EventOf<typeof userSignedUpTopic>;

export const postCreatedTopic = defineTopic({
  name: "post.created",
  partitions: 3,
  eventType: "PostCreated",
  schema: Type.Object({
    postId: Type.String({ pattern: UUID_PATTERN }),
    authorId: userId,
    author: username,
    title: Type.String({ minLength: 1, maxLength: POST_TITLE_CHARS_MAX }),
    excerpt: Type.String({ maxLength: POST_EXCERPT_CHARS_MAX }),
    createdAt: timestamp,
  }),
  key: (post) => post.authorId,
});
export type PostCreated = EventOf<typeof postCreatedTopic>;

export const userNotificationTopic = defineTopic({
  name: "user-notifications",
  partitions: 3,
  eventType: "UserFollowed",
  schema: Type.Object({
    /** The user the notification is for; the event's key, so each user's notifications keep their order. */
    recipientId: userId,
    kind: Type.Literal("followed"),
    actorId: userId,
    actor: username,
    createdAt: timestamp,
  }),
  key: (notification) => notification.recipientId,
});
export type UserNotification = EventOf<typeof userNotificationTopic>;

export const broadcastTopic = defineTopic({
  name: "notification.broadcast",
  eventType: "Broadcast",
  schema: Type.Object({
    message: Type.String({ minLength: 1, maxLength: BROADCAST_MESSAGE_CHARS_MAX }),
    sentBy: username,
    sentAt: timestamp,
  }),
  key: () => null,
});
export type Broadcast = EventOf<typeof broadcastTopic>;

export const WORDIUM_TOPICS = [userSignedUpTopic, postCreatedTopic, userNotificationTopic, broadcastTopic] as const;
