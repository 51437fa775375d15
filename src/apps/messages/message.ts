// What a message is: its text, the template it is shown with, and the limits and checks that apply to what a
// client sends. Every check names the field at fault, so the API can answer 400 with it.

import { validationFailed } from "../../gateway/errors.js";

export const MESSAGE_TEMPLATES = ["classic", "space"] as const;
export type MessageTemplate = (typeof MESSAGE_TEMPLATES)[number];
export const DEFAULT_MESSAGE_TEMPLATE: MessageTemplate = "classic";

/** The longest message accepted, in characters (Unicode code points). */
export const DEFAULT_MESSAGE_TEXT_CHARS_MAX = 1_000;
/** The most the setting may be raised to; the messages table refuses longer text. */
export const MESSAGE_TEXT_CHARS_LIMIT = 10_000;
/** Template names as the topic schema and the messages table allow them. */
export const TEMPLATE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
/** Client-chosen message ids (for safe retries) are UUIDs, the form event ids take. */
export const MESSAGE_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Control characters other than tab, line feed and carriage return; PostgreSQL text cannot hold NUL at all. */
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Half of a surrogate pair without its other half: not Unicode text, and not storable as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text made only of spaces and invisible characters (zero-width spaces and joiners, format characters, variation
 * selectors, Hangul fillers) shows as an empty message.
 */
const INVISIBLE_ONLY = /^[\s\p{Cf}\p{Variation_Selector}\u034f\u115f\u1160\u3164\uffa0]+$/u;

export interface MessageInput {
  /** Set when the client chose the id, so that a retried request is accepted once. */
  id: string | null;
  text: string;
  template: MessageTemplate;
}

export function isMessageTemplate(value: unknown): value is MessageTemplate {
  return typeof value === "string" && (MESSAGE_TEMPLATES as readonly string[]).includes(value);
}

/** Checks the text of a message (the field is "text" in the JSON API and "data" on /save). */
export function checkText(field: string, value: unknown, textCharsMax: number): string {
  if (value === undefined || value === null) throw validationFailed(field, `${field} is required`);
  if (typeof value !== "string") throw validationFailed(field, `${field} must be a string`);
  const text = value.trim();
  if (text === "") throw validationFailed(field, `${field} must not be empty`);
  if (INVISIBLE_ONLY.test(text)) {
    throw validationFailed(field, `${field} must contain a visible character, not only zero-width ones`);
  }
  if (LONE_SURROGATE.test(text)) throw validationFailed(field, `${field} contains invalid Unicode (a lone surrogate)`);
  if (FORBIDDEN_CONTROL_CHARACTERS.test(text)) {
    throw validationFailed(field, `${field} must not contain control characters other than tab and newline`);
  }
  // Counted in code points, as the database's char_length counts them.
  const chars = [...text].length;
  if (chars > textCharsMax) {
    throw validationFailed(field, `${field} is ${chars} characters long; the most is ${textCharsMax}`);
  }
  return text;
}

export function checkTemplate(field: string, value: unknown): MessageTemplate {
  if (value === undefined || value === null || value === "") return DEFAULT_MESSAGE_TEMPLATE;
  if (typeof value !== "string") throw validationFailed(field, `${field} must be a string`);
  if (!isMessageTemplate(value)) {
    throw validationFailed(field, `${field} must be one of ${MESSAGE_TEMPLATES.join(", ")}`);
  }
  return value;
}

export function checkMessageId(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || !MESSAGE_ID_PATTERN.test(value)) {
    throw validationFailed(field, `${field} must be a UUID such as crypto.randomUUID() makes`);
  }
  return value.toLowerCase();
}

const JSON_FIELDS = new Set(["id", "text", "template"]);

/** Reads the body of POST /api/messages. */
export function readMessageBody(body: unknown, textCharsMax: number): MessageInput {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw validationFailed("(body)", 'the body must be a JSON object such as { "text": "hello" }');
  }
  for (const field of Object.keys(body)) {
    if (!JSON_FIELDS.has(field)) {
      throw validationFailed(field, `${field} is not a field of a message; send id, text and template`);
    }
  }
  const fields = body as Record<string, unknown>;
  return {
    id: checkMessageId("id", fields.id),
    text: checkText("text", fields.text, textCharsMax),
    template: checkTemplate("template", fields.template),
  };
}

/** A query parameter given once; a repeated one (`?data=a&data=b`) is refused rather than guessed at. */
export function singleQueryValue(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw validationFailed(field, `${field} must be given once`);
  return value;
}

/** Reads the query of GET /save (`?data=…&template=…`). */
export function readSaveQuery(query: unknown, textCharsMax: number): MessageInput {
  const fields = (typeof query === "object" && query !== null ? query : {}) as Record<string, unknown>;
  return {
    id: checkMessageId("id", singleQueryValue("id", fields.id)),
    text: checkText("data", singleQueryValue("data", fields.data), textCharsMax),
    template: checkTemplate("template", singleQueryValue("template", fields.template)),
  };
}
