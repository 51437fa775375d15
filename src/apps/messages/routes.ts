// The message board's HTTP routes, as a Fastify plugin for the gateway: the JSON API, the compatibility endpoints
// /save and /view, and the web page. Accepting a message only adds it to the outbox; the relay publishes it and the
// worker stores it, so an accepted message survives a broker that is down. Messages accepted at about the same time
// share one transaction and one outbox INSERT (a group commit, see toolkit/group-commit.ts), and each request is
// answered once that transaction (for a group of up to 500, its one statement) has committed.

import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";

import { GatewayError, GatewayErrorCode, notFound, validationFailed } from "../../gateway/errors.js";
import { webDirectory, webPage } from "../../gateway/static-files.js";
import { integerOption, resolveIntegers } from "../../platform/options.js";
import {
  addUnknownToOutbox,
  DEFAULT_GROUP_COMMIT_BATCH_MAX,
  encodeEvent,
  GroupCommit,
  OUTBOX_EVENTS_PER_STATEMENT_MAX,
  newEventId,
  toolkitCounter,
  type Database,
  type EncodedEvent,
  type GroupOutcome,
  type Queryable,
} from "../../toolkit/index.js";
import {
  checkTemplate,
  DEFAULT_MESSAGE_TEMPLATE,
  DEFAULT_MESSAGE_TEXT_CHARS_MAX,
  MESSAGE_ID_PATTERN,
  MESSAGE_TEXT_CHARS_LIMIT,
  readMessageBody,
  readSaveQuery,
  singleQueryValue,
  type MessageInput,
} from "./message.js";
import { selectMessage, selectMessages, type MessagePage } from "./messages-sql.js";
import { messageSavedTopic } from "./topics.js";
import { renderSignInRequiredPage, renderViewPage } from "./view-page.js";

export const DEFAULT_PAGE_SIZE = 20;
export const PAGE_SIZE_MAX = 100;
/** Cursors are the stored order's sequence numbers; this many digits stay below PostgreSQL's bigint maximum. */
const CURSOR_PATTERN = /^[1-9][0-9]{0,17}$/;

export interface MessageBoardRoutesOptions {
  db: Database;
  /** Applies the gateway's auth mode to the board's API (sets request.user); null serves everyone anonymously. */
  requireAuth?: preHandlerAsyncHookHandler | null;
  textCharsMax?: number;
  defaultPageSize?: number;
  /** Where index.html, board.css and board.js are; the repository's web/messages/ by default. */
  webDir?: string | URL;
  /** Messages accepted in one transaction, at most (the group commit's batchMax). */
  groupCommitBatchMax?: number;
  /** How long a group of messages waits for more before it commits, in ms; 0 takes what is queued. */
  groupCommitWaitMs?: number;
}

interface Accepted {
  id: string;
  status: "accepted";
  acceptedAt: string;
}

function readPageQuery(query: unknown, defaultPageSize: number): { before: string | null; limit: number } {
  const fields = (typeof query === "object" && query !== null ? query : {}) as Record<string, unknown>;
  const rawLimit = singleQueryValue("limit", fields.limit);
  let limit = defaultPageSize;
  if (rawLimit !== undefined) {
    limit = /^[0-9]{1,4}$/.test(rawLimit) ? Number(rawLimit) : 0;
    if (limit < 1 || limit > PAGE_SIZE_MAX) {
      throw validationFailed("limit", `limit must be an integer from 1 to ${PAGE_SIZE_MAX}`);
    }
  }
  const before = singleQueryValue("before", fields.before) ?? null;
  if (before !== null && !CURSOR_PATTERN.test(before)) {
    throw validationFailed("before", "before must be a cursor from an earlier page (its nextCursor)");
  }
  return { before, limit };
}

/** True when the client would rather have HTML than JSON: browsers say text/html first, curl says *\/*. */
function prefersHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? "";
  const html = accept.indexOf("text/html");
  if (html === -1) return false;
  const json = accept.indexOf("application/json");
  return json === -1 || html < json;
}

/** A message on its way into the outbox: what the client sent, and its event, encoded (so validated) already. */
interface PendingMessage {
  input: MessageInput;
  event: EncodedEvent;
}

function changedRepost(id: string): GatewayError {
  return new GatewayError(
    GatewayErrorCode.CONFLICT,
    `message ${id} was already accepted with different text or template; give a new message a new id`,
    { field: "id" },
  );
}

/** Where the worker keeps stored messages: the outbox forgets published events after a while, this table does not. */
const STORED_MESSAGES = { table: "messages", idColumn: "id", columns: ["body", "template"] } as const;

/**
 * Adds a group of accepted messages to the outbox in one statement. A client-chosen id makes a retry safe: the same
 * message again is accepted once. The same id with other text or another template is a different message, which
 * would otherwise vanish silently behind the first: that request alone is refused with 409. The one statement looks
 * the chosen ids up, in the outbox and among the stored messages, and adds only the messages found in neither; a
 * message earlier in the same group counts as accepted before.
 */
async function writeMessages(tx: Queryable, pending: readonly PendingMessage[]): Promise<Array<GroupOutcome<void>>> {
  const events: EncodedEvent[] = [];
  const first = new Map<string, MessageInput>();
  for (const { input, event } of pending) {
    if (first.has(event.id)) continue;
    first.set(event.id, input);
    events.push(event);
  }
  const chosenIds = [...first].flatMap(([id, input]) => (input.id === null ? [] : [id]));
  const found = await addUnknownToOutbox(tx, messageSavedTopic, events, {
    lookupIds: chosenIds,
    knownIn: STORED_MESSAGES,
  });
  const earlier = (id: string): { text: string; template: string } | undefined => {
    const inOutbox = found.inOutbox.get(id);
    if (inOutbox !== undefined) return inOutbox;
    const stored = found.elsewhere.get(id);
    return stored === undefined ? undefined : { text: String(stored.body), template: String(stored.template) };
  };
  return pending.map(({ input, event }): GroupOutcome<void> => {
    if (input.id === null) return { ok: true, value: undefined };
    // Compared with what was known before this group, else with the group's first request of the id.
    const before = earlier(event.id) ?? first.get(event.id);
    if (before !== undefined && (before.text !== input.text || before.template !== input.template)) {
      return { ok: false, error: changedRepost(event.id) };
    }
    return { ok: true, value: undefined };
  });
}

export function messageBoardRoutes(options: MessageBoardRoutesOptions): FastifyPluginAsync {
  const { db } = options;
  const { textCharsMax, defaultPageSize } = resolveIntegers(
    {
      textCharsMax: integerOption(DEFAULT_MESSAGE_TEXT_CHARS_MAX, 1, MESSAGE_TEXT_CHARS_LIMIT),
      defaultPageSize: integerOption(DEFAULT_PAGE_SIZE, 1, PAGE_SIZE_MAX),
    },
    options,
    (field, message) => new RangeError(`${field} ${message}`),
  );
  const group = new GroupCommit<PendingMessage, void>({
    db,
    name: "messages",
    write: writeMessages,
    ...(options.groupCommitBatchMax === undefined ? {} : { batchMax: options.groupCommitBatchMax }),
    ...(options.groupCommitWaitMs === undefined ? {} : { waitMs: options.groupCommitWaitMs }),
    // A group that fits one statement needs no transaction around it: one round trip per group on a server.
    oneStatement: (options.groupCommitBatchMax ?? DEFAULT_GROUP_COMMIT_BATCH_MAX) <= OUTBOX_EVENTS_PER_STATEMENT_MAX,
  });
  const guard = options.requireAuth ?? null;
  const preHandler = guard === null ? [] : [guard];
  // The browser endpoints show a visitor who has not signed in a page that says so, not the API's JSON 401.
  const browserPreHandler: preHandlerAsyncHookHandler[] =
    guard === null
      ? []
      : [
          async function signInPageGuard(request, reply) {
            try {
              await guard.call(this, request, reply);
            } catch (error) {
              if (!(error instanceof GatewayError && error.statusCode === 401) || !prefersHtml(request)) throw error;
              await reply
                .status(401)
                .type("text/html; charset=utf-8")
                .send(renderSignInRequiredPage(DEFAULT_MESSAGE_TEMPLATE));
            }
          },
        ];
  const accepted = toolkitCounter({
    name: "sluice_messages_accepted_total",
    help: "Messages the message board accepted (added to the outbox), by endpoint",
    labelNames: ["endpoint"] as const,
  });

  const accept = async (request: FastifyRequest, input: MessageInput): Promise<Accepted> => {
    const id = input.id ?? newEventId();
    const acceptedAt = new Date();
    const value = {
      text: input.text,
      template: input.template,
      author: request.user?.username ?? null,
      acceptedAt: acceptedAt.toISOString(),
    };
    const event = await encodeEvent(messageSavedTopic, value, { eventId: id, time: acceptedAt });
    await group.submit({ input, event });
    return { id, status: "accepted", acceptedAt: value.acceptedAt };
  };

  const sendAccepted = (reply: FastifyReply, body: Accepted): FastifyReply =>
    reply.status(202).header("location", `/api/messages/${body.id}`).send(body);

  const listPage = (query: unknown): Promise<MessagePage> => {
    const { before, limit } = readPageQuery(query, defaultPageSize);
    return selectMessages(db, before, limit);
  };

  return async (app) => {
    // Requests still waiting for their group are answered before the database closes.
    app.addHook("onClose", () => group.close());
    await app.register(
      webPage(options.webDir ?? webDirectory("messages"), {
        "/": "index.html",
        "/messages/board.css": "board.css",
        "/messages/board.js": "board.js",
      }),
    );

    app.post("/api/messages", { preHandler }, async (request, reply) => {
      const body = await accept(request, readMessageBody(request.body, textCharsMax));
      accepted.inc({ endpoint: "api" });
      return sendAccepted(reply, body);
    });

    app.get("/api/messages", { preHandler }, async (request) => listPage(request.query));

    app.get<{ Params: { id: string } }>("/api/messages/:id", { preHandler }, async (request) => {
      const { id } = request.params;
      if (!MESSAGE_ID_PATTERN.test(id)) throw validationFailed("id", "id must be a message id (a UUID)");
      const message = await selectMessage(db, id.toLowerCase());
      if (message === null) throw notFound(`message ${id} is not stored (it may still be on its way)`);
      return message;
    });

    app.get("/save", { preHandler: browserPreHandler }, async (request, reply) => {
      const body = await accept(request, readSaveQuery(request.query, textCharsMax));
      accepted.inc({ endpoint: "save" });
      if (prefersHtml(request)) return reply.redirect(`/view?accepted=${body.id}`, 303);
      return sendAccepted(reply, body);
    });

    app.get("/view", { preHandler: browserPreHandler }, async (request, reply) => {
      const { before, limit } = readPageQuery(request.query, defaultPageSize);
      if (!prefersHtml(request)) return selectMessages(db, before, limit);
      const fields = (request.query ?? {}) as Record<string, unknown>;
      const template = checkTemplate("template", singleQueryValue("template", fields.template));
      const acceptedId = singleQueryValue("accepted", fields.accepted) ?? null;
      const html = renderViewPage({
        page: await selectMessages(db, before, limit),
        template,
        limit,
        acceptedId: acceptedId !== null && MESSAGE_ID_PATTERN.test(acceptedId) ? acceptedId : null,
      });
      return reply.type("text/html; charset=utf-8").send(html);
    });
  };
}
