// Which topics browsers may watch, declared per topic by the apps that own them: a public feed anyone may read, a
// stream for signed-in users or for one role, a topic nobody outside the services may read, and a per-user stream
// ("own-key"), where a topic keyed by its recipient's user id becomes a private stream of each user's own events.
// The declarations become the gateway's allowTopic check; topics nobody declares keep the gateway's default.

import { InvalidArgumentError } from "../../toolkit/errors.js";
import { ROLE_PATTERN } from "../auth/tokens.js";
import { TOPIC_NAME_PATTERN, WebSocketErrorCode, type WebSocketUser } from "./protocol.js";

/**
 * How browsers may subscribe to a topic:
 * - "everyone": anyone, signed in or not;
 * - "signed-in": any signed-in user;
 * - "own-key": a signed-in user, only with `key` set to their own user id (the token's subject), so that a topic
 *   keyed by recipient is each user's private stream;
 * - "role:<name>": signed-in users whose token grants the role (for example "role:admin");
 * - "none": nobody; the topic is for services only.
 */
export type TopicAccess = "everyone" | "signed-in" | "own-key" | "none" | `role:${string}`;

/** One topic an app declares for browsers, and who may watch it. */
export interface LiveTopic {
  readonly topic: string;
  readonly access: TopicAccess;
}

/** Why a subscribe was refused; the gateway answers with this code and message. */
export interface TopicRefusal {
  readonly code: typeof WebSocketErrorCode.UNAUTHORIZED | typeof WebSocketErrorCode.FORBIDDEN;
  readonly message: string;
  /** The request field at fault: "topic", or "key" when another key would be allowed. */
  readonly field: "topic" | "key";
}

/** true allows the subscribe; false or a refusal (whose message the client sees) refuses it. */
export type TopicDecision = boolean | TopicRefusal;

/** Decides whether a user (null when anonymous) may subscribe to a topic, with a key (null for every key). */
export type AllowTopic = (topic: string, user: WebSocketUser | null, key: string | null) => TopicDecision;

/** Without declarations a browser may watch every topic but Kafka's internal ones (`__consumer_offsets`, …). */
export function defaultAllowTopic(topic: string): boolean {
  return !topic.startsWith("__");
}

/** Declarations one gateway takes at most; each app declares a handful. */
export const LIVE_TOPICS_MAX = 1_000;

const ROLE_PREFIX = "role:";
/**
 * The toolkit's consumers keep their retries in `<topic>.retry.<n>` and their dead letters in `<topic>.dlt`: the
 * same events, for the consumers' own use. They are never served for a declared topic, whatever its access.
 */
const DERIVED_TOPIC_PATTERN = /^(.+)\.(retry\.[0-9]+|dlt)$/;

function refusal(code: TopicRefusal["code"], field: TopicRefusal["field"], message: string): TopicRefusal {
  return { code, field, message };
}

function checkAccess(index: number, access: unknown): TopicAccess {
  if (access === "everyone" || access === "signed-in" || access === "own-key" || access === "none") return access;
  if (typeof access === "string" && access.startsWith(ROLE_PREFIX)) {
    if (ROLE_PATTERN.test(access.slice(ROLE_PREFIX.length))) return access as TopicAccess;
  }
  throw new InvalidArgumentError(
    `liveTopics[${index}].access`,
    `must be "everyone", "signed-in", "own-key", "none" or "role:<name>" (a role name matching ` +
      `${String(ROLE_PATTERN)}), got ${JSON.stringify(access)}`,
  );
}

/**
 * The access of each declared topic. A topic may be declared more than once (by several roles of an app) as long
 * as every declaration says the same; two different accesses for one topic are a mistake, refused here.
 */
export function liveTopicAccess(liveTopics: readonly LiveTopic[]): ReadonlyMap<string, TopicAccess> {
  if (!Array.isArray(liveTopics)) throw new InvalidArgumentError("liveTopics", "must be an array");
  if (liveTopics.length > LIVE_TOPICS_MAX) {
    throw new InvalidArgumentError("liveTopics", `at most ${LIVE_TOPICS_MAX} declarations, got ${liveTopics.length}`);
  }
  const access = new Map<string, TopicAccess>();
  liveTopics.forEach((declaration, index) => {
    const topic: unknown = declaration?.topic;
    if (typeof topic !== "string" || !TOPIC_NAME_PATTERN.test(topic)) {
      throw new InvalidArgumentError(`liveTopics[${index}].topic`, "must be a topic name");
    }
    const declared = checkAccess(index, declaration.access);
    const earlier = access.get(topic);
    if (earlier !== undefined && earlier !== declared) {
      throw new InvalidArgumentError(
        `liveTopics[${index}].access`,
        `topic "${topic}" is declared both "${earlier}" and "${declared}"; declare one access per topic`,
      );
    }
    access.set(topic, declared);
  });
  return access;
}

function decide(access: TopicAccess, topic: string, user: WebSocketUser | null, key: string | null): TopicDecision {
  if (access === "everyone") return true;
  if (access === "none") {
    return refusal(WebSocketErrorCode.FORBIDDEN, "topic", `topic "${topic}" is not served to WebSocket clients`);
  }
  if (user === null) {
    return refusal(
      WebSocketErrorCode.UNAUTHORIZED,
      "topic",
      `sign in to subscribe to topic "${topic}": connect with a token or send { "type": "auth", "token": … }`,
    );
  }
  if (access === "signed-in") return true;
  if (access === "own-key") {
    if (key === user.userId) return true;
    return refusal(
      WebSocketErrorCode.FORBIDDEN,
      "key",
      `topic "${topic}" holds each user's own events: subscribe with "key" set to your user id, "${user.userId}"`,
    );
  }
  const role = access.slice(ROLE_PREFIX.length);
  if (user.roles?.includes(role) === true) return true;
  return refusal(
    WebSocketErrorCode.FORBIDDEN,
    "topic",
    `topic "${topic}" is for users with the "${role}" role, which your account lacks`,
  );
}

/**
 * The gateway's allowTopic for these declarations: a declared topic by its access, the retry and dead-letter topics
 * of a declared topic never, and any other topic as `otherwise` says (the gateway's default unless given).
 */
export function topicAccessCheck(
  liveTopics: readonly LiveTopic[],
  otherwise: AllowTopic = defaultAllowTopic,
): AllowTopic {
  const access = liveTopicAccess(liveTopics);
  return (topic, user, key) => {
    const declared = access.get(topic);
    if (declared !== undefined) return decide(declared, topic, user, key);
    const derived = DERIVED_TOPIC_PATTERN.exec(topic);
    if (derived !== null && access.has(derived[1] as string)) {
      return refusal(
        WebSocketErrorCode.FORBIDDEN,
        "topic",
        `topic "${topic}" holds the retries or dead letters of "${derived[1]}" and is not served to WebSocket clients`,
      );
    }
    return otherwise(topic, user, key);
  };
}
