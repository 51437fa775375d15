// How event values become record bytes and back. JSON is the only format today; a topic may name its own
// serializer, which is where a Confluent-compatible schema registry serializer (magic byte, schema id, payload)
// will plug in: its prepare() registers or looks up the schema id before the first encode.

import { EventDecodeError, EventEncodeError } from "./errors.js";
import type { Serializer, TopicDefinition } from "./topic.js";

export type { Serializer };

const utf8 = new TextDecoder("utf-8", { fatal: true });

export const jsonSerializer: Serializer = {
  contentType: "application/json",

  encode(topic, value) {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      throw new EventEncodeError(topic.name, error instanceof Error ? error.message : String(error), error);
    }
    if (text === undefined) throw new EventEncodeError(topic.name, `${typeof value} has no JSON form`);
    return Buffer.from(text, "utf8");
  },

  decode(topic, bytes) {
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch (error) {
      throw new EventDecodeError(topic.name, "the value is not UTF-8 text", error);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new EventDecodeError(topic.name, `the value is not JSON (${reason})`, error);
    }
  },
};

/** The serializer a topic declared, or JSON. */
export function serializerFor(topic: TopicDefinition<unknown>): Serializer {
  return topic.serializer ?? jsonSerializer;
}
