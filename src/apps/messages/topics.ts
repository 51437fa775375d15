// The message board's topics. messages.saved carries each accepted message from the API to the worker;
// messages.stored tells everyone (the web page, over the WebSocket gateway) that the worker has stored one.

import { Type } from "@sinclair/typebox";

import { defineTopic, type EventOf } from "../../toolkit/index.js";
import { MESSAGE_TEXT_CHARS_LIMIT } from "./message.js";

export const messageSavedTopic = defineTopic({
  name: "messages.saved",
  schema: Type.Object({
    text: Type.String({ minLength: 1, maxLength: MESSAGE_TEXT_CHARS_LIMIT }),
    // Any well-formed template name, not only today's: an event outlives the build that wrote it.
    template: Type.String({ pattern: "^[a-z][a-z0-9-]{0,31}$" }),
    author: Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()]),
    /** When the API accepted the message, ISO 8601. */
    acceptedAt: Type.String({ minLength: 1, maxLength: 64 }),
  }),
  // A signed-in author's messages keep their order on the way to the worker. Anonymous messages have no key: they
  // are unrelated, and one shared key would queue every one of them behind any that is held up.
  key: (message) => message.author,
});

export type MessageSaved = EventOf<typeof messageSavedTopic>;

export const messageStoredTopic = defineTopic({
  name: "messages.stored",
  schema: Type.Object({
    /** The id of the messages.saved event, which is the message's id. */
    messageId: Type.String({ minLength: 36, maxLength: 36 }),
    /** Where the message sits in the board's order: the cursor that lists the messages before it. */
    cursor: Type.String({ minLength: 1, maxLength: 32 }),
    storedAt: Type.String({ minLength: 1, maxLength: 64 }),
  }),
  key: (stored) => stored.messageId,
});

export type MessageStored = EventOf<typeof messageStoredTopic>;

export const MESSAGE_TOPICS = [messageSavedTopic, messageStoredTopic] as const;
