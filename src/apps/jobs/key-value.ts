// Where the jobs board keeps its cache and its sessions: Redis when REDIS_URL names one (ioredis, the most used
// Node client, which reconnects by itself), otherwise a bounded map in the process. Every operation on Redis fails
// fast while it is unreachable (no offline queue), so a Redis outage turns a cached read into an uncached one
// instead of a request that waits; callers decide what an outage means for them (see cache.ts and sessions.ts).

import { Redis } from "ioredis";

import type { ToolkitLogger } from "../../toolkit/index.js";

/** Entries the in-process store keeps; the oldest written goes first past it. */
export const MEMORY_ENTRIES_MAX = 10_000;
/** How long one Redis command may take before it counts as an outage. */
export const REDIS_COMMAND_TIMEOUT_MS = 500;
export const REDIS_CONNECT_TIMEOUT_MS = 1_000;
/** The longest pause between reconnection attempts. */
export const REDIS_RECONNECT_DELAY_MS_MAX = 2_000;
/** Redis errors are logged at most this often, so that an outage does not flood the log. */
const OUTAGE_LOG_INTERVAL_MS = 10_000;

export class KeyValueUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`Redis is unreachable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "KeyValueUnavailableError";
  }
}

export interface KeyValueStore {
  /** "redis" or "memory", for /health/. */
  readonly kind: "redis" | "memory";
  /** Rejects with KeyValueUnavailableError while Redis is unreachable, as do the others. */
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Adds one to a counter (0 when missing) and returns the new value. */
  increment(key: string): Promise<number>;
  /** "ok", or "down" while Redis is unreachable. */
  state(): Promise<"ok" | "down">;
  close(): Promise<void>;
}

export function memoryStore(entriesMax = MEMORY_ENTRIES_MAX): KeyValueStore {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  const put = (key: string, value: string, ttlMs: number) => {
    entries.delete(key);
    entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    if (entries.size > entriesMax) entries.delete(entries.keys().next().value as string);
  };
  return {
    kind: "memory",
    get: async (key) => live(key)?.value ?? null,
    set: async (key, value, ttlMs) => put(key, value, ttlMs),
    delete: async (key) => {
      entries.delete(key);
    },
    increment: async (key) => {
      const next = Number(live(key)?.value ?? "0") + 1;
      put(key, String(next), Number.MAX_SAFE_INTEGER / 2);
      return next;
    },
    state: async () => "ok",
    close: async () => entries.clear(),
  };
}

export function redisStore(url: string, logger: ToolkitLogger): KeyValueStore {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, REDIS_RECONNECT_DELAY_MS_MAX),
  });
  let lastLoggedAt = 0;
  redis.on("error", (error: Error) => {
    if (Date.now() - lastLoggedAt < OUTAGE_LOG_INTERVAL_MS) return;
    lastLoggedAt = Date.now();
    logger.warn({ err: error }, "Redis is unreachable; the jobs board serves uncached until it is back");
  });
  let connecting: Promise<void> | null = null;
  const ensureConnecting = () => {
    // The first connection is started here rather than at construction, so that a store never used never connects.
    connecting ??= redis.connect().catch(() => undefined);
  };
  const run = async <T>(command: () => Promise<T>): Promise<T> => {
    ensureConnecting();
    if (redis.status !== "ready") await Promise.race([connecting, delay(REDIS_CONNECT_TIMEOUT_MS)]);
    try {
      return await command();
    } catch (error) {
      throw new KeyValueUnavailableError(error);
    }
  };
  return {
    kind: "redis",
    get: (key) => run(() => redis.get(key)),
    set: (key, value, ttlMs) =>
      run(async () => {
        await redis.set(key, value, "PX", Math.max(1, Math.round(ttlMs)));
      }),
    delete: (key) =>
      run(async () => {
        await redis.del(key);
      }),
    increment: (key) => run(() => redis.incr(key)),
    state: async () => {
      try {
        await run(() => redis.ping());
        return "ok";
      } catch {
        return "down";
      }
    },
    close: async () => {
      redis.disconnect();
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Redis when the environment names one (REDIS_URL), else the in-process store. */
export function keyValueStoreFor(env: Readonly<Record<string, string | undefined>>, logger: ToolkitLogger) {
  const url = env.REDIS_URL;
  return url === undefined || url === "" ? memoryStore() : redisStore(url, logger);
}
