// What `sluice up` runs and how, from flags, environment variables and an optional JSON config file, in that order
// of precedence, over the defaults. Every value is checked before anything starts, and an error names the setting
// and where the bad value came from.

import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

import { USERNAME_PATTERN } from "../../gateway/auth/auth.js";
import {
  DEFAULT_PGLITE_THREAD,
  DEFAULT_POOL_SIZE,
  isPostgresUrl,
  PGLITE_THREAD_ENV,
  PGLITE_THREADS,
  POOL_SIZE_MAX,
} from "../../store/index.js";
import {
  DEFAULT_GROUP_COMMIT_BATCH_MAX,
  DEFAULT_GROUP_COMMIT_WAIT_MS,
  GROUP_COMMIT_BATCH_LIMIT,
  GROUP_COMMIT_WAIT_MS_MAX,
} from "../../toolkit/group-commit.js";
import { closestName, optionFlagName, stringOption, type OptionValues, type ValueOptionSpec } from "../args.js";
import { CliError } from "../command.js";
import { LOG_LEVELS, type LogLevel } from "../logger.js";
import { APP_NAMES, parseApps, parseRoles, planRoles, UP_ROLES, type RolePlan } from "./roles.js";
import {
  choiceSetting,
  integerSetting,
  listSetting,
  optionOf,
  textSetting,
  type Setting,
  type SettingValue,
} from "./settings.js";

export const AUTH_MODES = ["off", "optional", "required"] as const;
export type UpAuthMode = (typeof AUTH_MODES)[number];

export const DEFAULT_UP_DATA_DIR = ".sluice";
export const DEFAULT_HTTP_PORT = 8080;
export const DEFAULT_BROKER_PORT = 9092;
export const DEFAULT_REGISTRY_PORT = 8081;
export const DEFAULT_UP_SHUTDOWN_TIMEOUT_MS = 30_000;
export const DEFAULT_WORKER_SESSION_TIMEOUT_MS = 10_000;
/**
 * How long a request waits for a PostgreSQL connection before it gets 503. Shorter than the store's default, so that
 * with an unreachable server the API answers in seconds instead of keeping clients waiting.
 */
export const DEFAULT_UP_DATABASE_CONNECT_TIMEOUT_MS = 5_000;
export const CONFIG_FILE_BYTES_MAX = 1024 * 1024;
export const BROKER_ADDRESSES_MAX = 100;
/** JWT secrets shorter than this are too easy to guess for HS256. */
export const JWT_SECRET_CHARS_MIN = 32;
export const JWT_SECRET_CHARS_MAX = 4096;
export const ADMIN_USERS_MAX = 100;

function checkHost(host: string): void {
  if (!/^[A-Za-z0-9.:[\]_-]{1,253}$/.test(host)) throw new Error(`"${host}" is not a host name or address`);
}

function parseBrokerAddresses(entries: readonly string[]): string[] | null {
  if (entries.length === 0) throw new Error("expected host:port[,host:port]");
  if (entries.length > BROKER_ADDRESSES_MAX) throw new Error(`more than ${BROKER_ADDRESSES_MAX} brokers`);
  for (const entry of entries) {
    const match = /^(.+):([0-9]{1,5})$/.exec(entry);
    const port = match === null ? 0 : Number(match[2]);
    if (match === null || port < 1 || port > 65_535) throw new Error(`"${entry}" is not host:port`);
  }
  return [...entries];
}

export const UP_SETTINGS = {
  only: listSetting<string[] | null>({
    description: "Run only these roles, so that each can run as its own process or pod",
    valueName: `${UP_ROLES.join("|")}[,…]`,
    default: null,
    defaultLabel: "all of them",
    parseList: parseRoles,
  }),
  apps: listSetting<string[] | null>({
    description: "Run only these apps (with the broker); with one app, its paths are served at the root too",
    valueName: `${APP_NAMES.join("|")}[,…]`,
    default: null,
    defaultLabel: "all of them",
    parseList: parseApps,
  }),
  host: textSetting({
    description: "Address the HTTP server listens on (0.0.0.0 for every interface)",
    valueName: "host",
    default: "127.0.0.1",
    check: checkHost,
  }),
  port: integerSetting({
    description: "HTTP port of the API, WebSocket gateway and web page; 0 picks a free one",
    min: 0,
    max: 65_535,
    default: DEFAULT_HTTP_PORT,
  }),
  brokerHost: textSetting({
    description: "Address the embedded Kafka broker listens on",
    valueName: "host",
    default: "127.0.0.1",
    check: checkHost,
  }),
  brokerPort: integerSetting({
    description: "Port of the embedded Kafka broker; 0 picks a free one",
    min: 0,
    max: 65_535,
    default: DEFAULT_BROKER_PORT,
  }),
  registryPort: integerSetting({
    description: "Port of the schema registry (on --host, beside the HTTP server); 0 picks a free one",
    min: 0,
    max: 65_535,
    default: DEFAULT_REGISTRY_PORT,
  }),
  registryUrl: textSetting<null>({
    description: "Use this schema registry instead of running one in the system",
    valueName: "http://host:port",
    env: "SCHEMA_REGISTRY_URL",
    default: null,
    defaultLabel: "the system's own",
    check: (url) => {
      if (!/^https?:\/\/\S+$/.test(url)) throw new Error("must be an http:// or https:// URL");
    },
  }),
  brokerAdvertisedHost: textSetting<null>({
    description:
      "Host name the embedded broker gives clients to connect to (a pod's or container's DNS name, when it listens " +
      "on 0.0.0.0)",
    valueName: "host",
    default: null,
    defaultLabel: "--broker-host",
    check: checkHost,
  }),
  dataDir: textSetting({
    description: "Directory for the embedded broker's logs, PGlite's database and the token secret",
    valueName: "dir",
    default: DEFAULT_UP_DATA_DIR,
    check: (dir) => {
      if (dir.trim() === "") throw new Error("must not be empty");
    },
  }),
  kafkaBrokers: listSetting<string[] | null>({
    description: "Use this Kafka cluster instead of starting the embedded broker",
    valueName: "host:port[,host:port]",
    env: "KAFKA_BROKERS",
    default: null,
    defaultLabel: "the embedded broker",
    parseList: parseBrokerAddresses,
  }),
  transport: textSetting<null>({
    description:
      "Carry the apps' work queues over RabbitMQ at this AMQP URL (the message board's messages.saved becomes the " +
      "queue task_queue); the topics the pages watch live stay on the broker",
    valueName: "amqp://user:password@host:port",
    env: "AMQP_URL",
    default: null,
    defaultLabel: "the broker",
    check: (url) => {
      if (!/^amqps?:\/\/\S+$/.test(url)) throw new Error("must be an amqp:// or amqps:// URL");
    },
  }),
  databaseUrl: textSetting<null>({
    description: "Use this PostgreSQL server instead of PGlite in the data directory",
    valueName: "postgres://…",
    env: "DATABASE_URL",
    default: null,
    defaultLabel: "PGlite",
    check: (url) => {
      if (!isPostgresUrl(url)) throw new Error("must be a postgres:// or postgresql:// URL");
    },
  }),
  // The store's own variable, read here as well so that it ranks between the flag and the config file and a bad value
  // is refused before anything starts; the chosen thread is always passed to openDatabase, which then reads nothing.
  pgliteThread: choiceSetting({
    description:
      "Where PGlite runs: worker, a thread of its own, so that PostgreSQL's work runs on another core than HTTP; " +
      "main, on the thread that serves HTTP (without DATABASE_URL)",
    choices: PGLITE_THREADS,
    env: PGLITE_THREAD_ENV,
    default: DEFAULT_PGLITE_THREAD,
  }),
  databaseSchema: textSetting({
    description: "PostgreSQL schema the tables live in",
    valueName: "name",
    default: "public",
    check: (schema) => {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
        throw new Error("must be a lower-case SQL identifier (letters, digits, '_') of at most 63 characters");
      }
    },
  }),
  databasePoolSize: integerSetting({
    description: "Connections this process keeps to the PostgreSQL server (with DATABASE_URL)",
    min: 1,
    max: POOL_SIZE_MAX,
    default: DEFAULT_POOL_SIZE,
  }),
  databaseConnectTimeoutMs: integerSetting({
    description: "How long to wait for a PostgreSQL connection; past it a request gets 503 (with DATABASE_URL)",
    min: 100,
    max: 600_000,
    default: DEFAULT_UP_DATABASE_CONNECT_TIMEOUT_MS,
  }),
  authMode: choiceSetting({
    description: "off: everyone is anonymous; optional: anyone may post, signed-in users by name; required: sign in",
    choices: AUTH_MODES,
    default: "optional",
  }),
  adminUsers: listSetting<string[]>({
    description: "Users given the admin role when they sign in (the console's changes, apps' administration)",
    valueName: "user[,user]",
    default: [],
    defaultLabel: "none",
    parseList: (names) => {
      if (names.length > ADMIN_USERS_MAX) throw new Error(`more than ${ADMIN_USERS_MAX} users`);
      for (const name of names) {
        if (!USERNAME_PATTERN.test(name)) throw new Error(`"${name}" is not a username`);
      }
      return [...names];
    },
  }),
  jwtSecret: textSetting<null>({
    description: "Secret that signs access tokens; generated and kept in the data directory when absent",
    valueName: "secret",
    default: null,
    defaultLabel: "generated",
    check: (secret) => {
      if (secret.length < JWT_SECRET_CHARS_MIN || secret.length > JWT_SECRET_CHARS_MAX) {
        throw new Error(`must be ${JWT_SECRET_CHARS_MIN} to ${JWT_SECRET_CHARS_MAX} characters long`);
      }
    },
  }),
  logLevel: choiceSetting<LogLevel>({
    description: "Level of the JSON logs on stderr",
    choices: LOG_LEVELS,
    default: "info",
  }),
  shutdownTimeoutMs: integerSetting({
    description: "How long a graceful stop may take before exiting with status 1",
    min: 1,
    max: 600_000,
    default: DEFAULT_UP_SHUTDOWN_TIMEOUT_MS,
  }),
  bodyBytesMax: integerSetting({
    description: "Largest HTTP request body accepted",
    min: 1,
    max: 64 * 1024 * 1024,
    default: 1024 * 1024,
  }),
  messageTextCharsMax: integerSetting({
    description: "Longest message text accepted, in characters",
    min: 1,
    max: 10_000,
    default: 1_000,
  }),
  groupCommitBatchMax: integerSetting({
    description: "Writes an app's API commits in one transaction, at most (group commit)",
    min: 1,
    max: GROUP_COMMIT_BATCH_LIMIT,
    default: DEFAULT_GROUP_COMMIT_BATCH_MAX,
  }),
  groupCommitWaitMs: integerSetting({
    description: "How long a group of API writes waits for more before it commits; 0 takes what is queued",
    min: 0,
    max: GROUP_COMMIT_WAIT_MS_MAX,
    default: DEFAULT_GROUP_COMMIT_WAIT_MS,
  }),
  sendBufferBytesMax: integerSetting({
    description: "Bytes waiting for one WebSocket client before it is closed as too slow",
    min: 1024,
    max: 1024 * 1024 * 1024,
    default: 1024 * 1024,
  }),
  subscriptionsPerConnectionMax: integerSetting({
    description: "Topics one WebSocket connection may subscribe to",
    min: 1,
    max: 10_000,
    default: 32,
  }),
  workerSessionTimeoutMs: integerSetting({
    description: "How soon the broker notices a worker that died and gives its partitions to another",
    min: 1_000,
    max: 300_000,
    default: DEFAULT_WORKER_SESSION_TIMEOUT_MS,
  }),
};

type UpSettings = typeof UP_SETTINGS;
export type UpSettingName = keyof UpSettings;

type UpSettingOptions = { [K in UpSettingName]: ValueOptionSpec<SettingValue<UpSettings[K]> | undefined> };

function settingOptions(): UpSettingOptions {
  const options: Record<string, ValueOptionSpec<unknown>> = {};
  for (const [name, setting] of Object.entries(UP_SETTINGS)) options[name] = optionOf(setting as Setting<unknown>);
  return options as UpSettingOptions;
}

export const upOptions = {
  config: stringOption({
    description: "Read settings from this JSON file; flags and environment variables win over it",
    valueName: "file",
  }),
  ...settingOptions(),
};

export type UpOptionValues = OptionValues<typeof upOptions>;

/** Every setting resolved, plus what follows from them. */
export type UpConfig = { -readonly [K in UpSettingName]: SettingValue<UpSettings[K]> } & {
  /** The roles this process runs, and the apps and service databases they use. */
  roles: ReadonlySet<string>;
  runningApps: RolePlan["apps"];
  serviceDatabaseUrls: RolePlan["serviceDatabaseUrls"];
  /** Where the settings that did not come from flags or the environment came from, for messages. */
  configFile: string | null;
};

/** Reads a config file into setting values, naming the file and the key of anything wrong. */
export function readConfigFile(path: string): Partial<Record<UpSettingName, unknown>> {
  let text: string;
  try {
    const { size } = statSync(path);
    if (size > CONFIG_FILE_BYTES_MAX) {
      throw new CliError(
        `the config file ${path} is ${size} bytes, over ${CONFIG_FILE_BYTES_MAX}`,
        "Is it the right file?",
      );
    }
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (error instanceof CliError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`cannot read the config file: ${reason}`, "Give --config a readable JSON file.");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`the config file ${path} is not valid JSON: ${reason}`, "Fix the file, or leave out --config.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`the config file ${path} must hold a JSON object of settings`, `For example: { "port": 8080 }`);
  }
  const names = Object.keys(UP_SETTINGS);
  const values: Partial<Record<UpSettingName, unknown>> = {};
  for (const [key, raw] of Object.entries(parsed)) {
    const setting = (UP_SETTINGS as Record<string, Setting<unknown>>)[key];
    if (setting === undefined) {
      const closest = closestName(key, names);
      throw new CliError(
        `the config file ${path} has an unknown setting "${key}"${closest === null ? "" : ` (did you mean "${closest}"?)`}`,
        `Settings are: ${names.join(", ")}.`,
      );
    }
    try {
      values[key as UpSettingName] = setting.fromJson(raw);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new CliError(`the config file ${path}: setting "${key}" ${reason}`, "Fix the value in the file.");
    }
  }
  return values;
}

/** Combines flags and environment (already parsed), the config file and the defaults, and checks them together. */
export function resolveUpConfig(
  values: UpOptionValues,
  env: Readonly<Record<string, string | undefined>> = {},
): UpConfig {
  const fromFile = values.config === undefined ? {} : readConfigFile(values.config);
  const resolved: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(UP_SETTINGS) as [UpSettingName, Setting<unknown>][]) {
    const given = values[name];
    resolved[name] = given !== undefined ? given : name in fromFile ? fromFile[name] : setting.defaultValue;
  }
  const settings = resolved as { [K in UpSettingName]: SettingValue<UpSettings[K]> };
  const plan = planRoles(settings, env);
  if (settings.authMode === "off" && settings.jwtSecret !== null) {
    throw new CliError(
      "--jwt-secret is set but --auth-mode is off, so no token would ever be signed",
      "Choose --auth-mode optional or required, or leave out the secret.",
    );
  }
  return {
    ...settings,
    roles: plan.roles,
    runningApps: plan.apps,
    serviceDatabaseUrls: plan.serviceDatabaseUrls,
    configFile: values.config ?? null,
  };
}

/** Where each embedded part keeps its files inside the data directory. */
export function dataPaths(dataDir: string): { broker: string; database: string; databaseLock: string; auth: string } {
  return {
    broker: join(dataDir, "broker"),
    database: join(dataDir, "pglite"),
    databaseLock: join(dataDir, "pglite.lock"),
    auth: join(dataDir, "auth"),
  };
}

/** The flag spelling of a setting, for messages. */
export function flagOf(name: UpSettingName): string {
  return `--${optionFlagName(name)}`;
}
