// `sluice outbox parked | requeue`: list the outbox rows the relay parked (the broker refused them for good) and send
// them again once the cause is fixed. Both work against the PostgreSQL server at DATABASE_URL, or, with --console-url,
// through the console of a running system: the only way to an embedded PGlite, whose data directory `sluice up` locks.

import { ArgumentError, flagOption, integerOption, listOption, stringOption, type OptionValues } from "../args.js";
import { CliError, defineCommand, defineCommandGroup, EXIT_OK, type CommandIo } from "../command.js";
import { renderTable } from "../table.js";
import {
  hasOutbox,
  PARKED_ROWS_LISTED_MAX,
  parkedRows,
  requeueParked,
  REQUEUE_ROWS_MAX,
  schemasWith,
  type ParkedRowView,
  type RequeueReport,
  type RequeueSelection,
} from "../../console/outbox-parked.js";
import { isPostgresUrl, openDatabase, type Database } from "../../store/index.js";
import { redactDatabaseUrl } from "../../store/postgres-database.js";

/** How long one request to the console may take. */
export const CONSOLE_REQUEST_TIMEOUT_MS = 30_000;
/** Characters of a parked row's last error shown in the table; --json prints it whole. */
const ERROR_COLUMN_CHARS_MAX = 80;

interface ParkedOutbox {
  schema: string;
  parkedCount: number;
  parked: ParkedRowView[];
}

/** Where the outboxes are read and changed: the database itself, or a running console's API. */
interface OutboxSource {
  /** The schemas that have an outbox, or just the one asked for (an error when it has none). */
  schemas(only: string | undefined): Promise<string[]>;
  parked(schemas: readonly string[], limit: number): Promise<ParkedOutbox[]>;
  requeue(schema: string, selection: RequeueSelection): Promise<RequeueReport>;
  close(): Promise<void>;
}

const noOutbox = (schema: string, where: string) =>
  new CliError(`the schema ${schema} has no outbox at ${where}`, "List the outboxes with `sluice outbox parked`.");

async function databaseSource(url: string): Promise<OutboxSource> {
  const where = redactDatabaseUrl(url);
  let database: Database;
  try {
    database = await openDatabase({ url, migrate: false, poolSize: 2 });
    await database.query("SELECT 1");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`cannot reach PostgreSQL at ${where}: ${reason}`, "Check --database-url (or DATABASE_URL).", {
      cause: error,
    });
  }
  return {
    async schemas(only) {
      if (only === undefined) return schemasWith(database, "sluice_outbox");
      if (!(await hasOutbox(database, only))) throw noOutbox(only, where);
      return [only];
    },
    async parked(schemas, limit) {
      const outboxes = [];
      for (const schema of schemas) {
        const { count, rows } = await parkedRows(database, schema, limit);
        outboxes.push({ schema, parkedCount: count, parked: rows });
      }
      return outboxes;
    },
    async requeue(schema, selection) {
      const report = await requeueParked(database, schema, selection);
      if (report === null) throw noOutbox(schema, where);
      return report;
    },
    close: () => database.close(),
  };
}

function consoleSource(consoleUrl: string, token: string | undefined): OutboxSource {
  const base = consoleUrl.replace(/\/+$/, "");
  const call = async <T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(`${base}/api${path}`, {
        method,
        headers: {
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(CONSOLE_REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      // fetch says only "fetch failed"; its cause says why (a refused connection, a name not found, a timeout).
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new CliError(
        `cannot reach the console at ${base}: ${reason}`,
        "Is `sluice up` (or `sluice console`) running? --console-url is its console, such as http://127.0.0.1:8080/console.",
        { cause: error },
      );
    }
    const text = await response.text();
    let answer: { message?: string } | null = null;
    try {
      answer = text === "" ? null : (JSON.parse(text) as { message?: string });
    } catch {
      // Not the console's JSON: reported below with the status.
    }
    if (response.ok && answer !== null) return answer as T;
    const why = answer?.message ?? `${text.slice(0, 200)}`;
    const hint =
      response.status === 401 || response.status === 403
        ? "Give --token (or SLUICE_TOKEN): an access token of a user with the admin role (POST /api/auth/login)."
        : response.status === 404 && !why.includes("has no outbox")
          ? "Check --console-url: it is the console's address, such as http://127.0.0.1:8080/console."
          : null;
    throw new CliError(`the console answered ${response.status}: ${why}`, hint);
  };
  // One command asks for the schemas and then their parked rows: one summary from the console serves both.
  let summaryOnce: Promise<{ outboxes: ParkedOutbox[] }> | null = null;
  const summary = () => (summaryOnce ??= call<{ outboxes: ParkedOutbox[] }>("GET", "/outbox"));
  return {
    async schemas(only) {
      const names = (await summary()).outboxes.map((outbox) => outbox.schema);
      if (only === undefined) return names;
      if (!names.includes(only)) throw noOutbox(only, base);
      return [only];
    },
    async parked(schemas, limit) {
      return (await summary()).outboxes
        .filter((outbox) => schemas.includes(outbox.schema))
        .map((outbox) => ({
          schema: outbox.schema,
          parkedCount: outbox.parkedCount,
          parked: outbox.parked.slice(0, limit),
        }));
    },
    requeue: (schema, selection) =>
      call<RequeueReport>("POST", `/outbox/${encodeURIComponent(schema)}/requeue`, selection),
    close: async () => undefined,
  };
}

const sourceOptions = {
  databaseUrl: stringOption({
    description: "The PostgreSQL server with the services' outboxes",
    valueName: "url",
    env: "DATABASE_URL",
  }),
  consoleUrl: stringOption({
    description: "Go through this running console instead (the way to `sluice up`'s embedded PGlite)",
    valueName: "url",
    env: "SLUICE_CONSOLE_URL",
  }),
  token: stringOption({
    description: "With --console-url and auth required: an access token of a user with the admin role",
    valueName: "token",
    env: "SLUICE_TOKEN",
  }),
  schema: stringOption({ description: "Only the outbox of this schema (a service's schema)", valueName: "name" }),
  json: flagOption({ description: "Print JSON for scripts instead of a table" }),
};

async function withSource<T>(
  options: OptionValues<typeof sourceOptions>,
  work: (source: OutboxSource) => Promise<T>,
): Promise<T> {
  let source: OutboxSource;
  if (options.consoleUrl !== undefined) {
    if (!/^https?:\/\/\S+$/.test(options.consoleUrl))
      throw new ArgumentError("--console-url must be an http(s):// URL");
    source = consoleSource(options.consoleUrl, options.token);
  } else if (options.databaseUrl !== undefined) {
    if (!isPostgresUrl(options.databaseUrl)) {
      throw new ArgumentError("--database-url must be a postgres:// or postgresql:// URL");
    }
    source = await databaseSource(options.databaseUrl);
  } else {
    throw new ArgumentError(
      "give --database-url (or DATABASE_URL) for a PostgreSQL server, or --console-url for the console of a running " +
        "`sluice up`, whose embedded PGlite only that process can open",
    );
  }
  try {
    return await work(source);
  } finally {
    await source.close();
  }
}

function shorten(text: string, charsMax: number): string {
  return text.length <= charsMax ? text : `${text.slice(0, charsMax - 1)}…`;
}

function parkedTable(outboxes: readonly ParkedOutbox[]): string {
  return renderTable(
    [
      { header: "SCHEMA" },
      { header: "ROW", align: "right" },
      { header: "EVENT ID" },
      { header: "TOPIC" },
      { header: "PARKED AT" },
      { header: "ATTEMPTS", align: "right" },
      { header: "LAST ERROR" },
    ],
    outboxes.flatMap((outbox) =>
      outbox.parked.map((row) => [
        outbox.schema,
        row.id,
        row.eventId,
        row.topic,
        row.parkedAt ?? "",
        row.failedAttempts,
        shorten(row.lastError ?? "", ERROR_COLUMN_CHARS_MAX),
      ]),
    ),
  );
}

const parkedCommand = defineCommand({
  name: "parked",
  summary: "List the outbox rows the relay parked (the broker refused them for good), oldest first",
  examples: [
    "sluice outbox parked --database-url postgres://localhost/app",
    "sluice outbox parked --console-url http://127.0.0.1:8080/console --json",
  ],
  arguments: {
    options: {
      ...sourceOptions,
      limit: integerOption({
        description: "Show at most this many per schema",
        min: 1,
        max: PARKED_ROWS_LISTED_MAX,
        default: PARKED_ROWS_LISTED_MAX,
      }),
    },
    positionals: [],
  },
  async run({ options }, io) {
    const outboxes = await withSource(options, async (source) =>
      source.parked(await source.schemas(options.schema), options.limit),
    );
    if (options.json) {
      io.stdout.write(JSON.stringify({ outboxes }) + "\n");
      return EXIT_OK;
    }
    const total = outboxes.reduce((sum, outbox) => sum + outbox.parkedCount, 0);
    if (total === 0) {
      io.stdout.write(`no parked outbox rows (${outboxes.length} outbox(es) looked at)\n`);
      return EXIT_OK;
    }
    io.stdout.write(parkedTable(outboxes));
    const shown = outboxes.reduce((sum, outbox) => sum + outbox.parked.length, 0);
    if (shown < total) io.stderr.write(`showing ${shown} of ${total} parked rows; narrow with --schema\n`);
    return EXIT_OK;
  },
});

function positiveRowId(raw: string): number {
  const id = /^[0-9]{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw new Error(`"${raw}" is not a row id (a positive integer)`);
  return id;
}

const requeueCommand = defineCommand({
  name: "requeue",
  summary: "Send parked outbox rows again, chosen ones (--id) or all of them (--all)",
  details: [
    "Each row goes back to its outbox as a new row after the relay's cursor, with its event id, key, value and " +
      "headers; its parked row is deleted in the same statement. Consumers that already processed the event skip " +
      "it (their inbox knows its id). Fix the cause first (the last error says what the broker refused): a row " +
      "refused again is parked again.",
    "Row ids are per schema: with --id, give --schema unless the database has one outbox.",
  ],
  examples: [
    "sluice outbox requeue --schema billing_service --id 42 --id 43",
    "sluice outbox requeue --all --console-url http://127.0.0.1:8080/console",
  ],
  arguments: {
    options: {
      ...sourceOptions,
      id: listOption({
        description: "The parked row with this id",
        valueName: "row",
        parse: positiveRowId,
        countMax: REQUEUE_ROWS_MAX,
      }),
      all: flagOption({ description: `Every parked row (the oldest ${REQUEUE_ROWS_MAX} per schema)` }),
    },
    positionals: [],
  },
  async run({ options }, io) {
    if (options.all && options.id.length > 0) throw new ArgumentError("give --id or --all, not both");
    if (!options.all && options.id.length === 0) throw new ArgumentError("give --id <row> (repeatable) or --all");
    const selection: RequeueSelection = options.all ? { all: true } : { ids: options.id };
    const reports = await withSource(options, async (source) => {
      const schemas = await source.schemas(options.schema);
      if (!options.all && schemas.length !== 1) {
        throw new ArgumentError(
          schemas.length === 0
            ? "there is no outbox here"
            : `row ids are per schema: give --schema (outboxes: ${schemas.join(", ")})`,
        );
      }
      const done: RequeueReport[] = [];
      for (const schema of schemas) done.push(await source.requeue(schema, selection));
      return done;
    });
    report(reports, io, options.json);
    return EXIT_OK;
  },
});

function report(reports: readonly RequeueReport[], io: CommandIo, json: boolean): void {
  if (json) {
    io.stdout.write(JSON.stringify({ requeued: reports }) + "\n");
    return;
  }
  if (reports.length === 0) io.stdout.write("no outbox here; nothing to requeue\n");
  for (const done of reports) {
    io.stdout.write(
      `requeued ${done.requeued} parked row(s) of ${done.schema}` +
        (done.notParked > 0 ? `; ${done.notParked} id(s) given were not parked` : "") +
        `; ${done.stillParked} still parked\n`,
    );
  }
}

export const outboxCommand = defineCommandGroup({
  name: "outbox",
  summary: "List and requeue outbox rows the relay parked (the broker refused them for good)",
  commands: [parkedCommand, requeueCommand],
});
