// LISTEN on a PostgreSQL server over one dedicated connection (a pooled connection cannot be used: notifications
// arrive only on the session that listens, and the pool hands sessions to other callers). The connection is opened
// on the first subscription and restored, with backoff, when it is lost.

import pg from "pg";

import type { StoreLogger } from "./database-types.js";
import { closedError } from "./errors.js";
import { quoteIdentifier } from "./identifiers.js";
import { deliverNotification } from "./notifications.js";

export const LISTEN_RECONNECT_DELAY_MS_MIN = 100;

interface ChannelState {
  readonly subscribers: Set<{ onNotify: (payload: string) => void }>;
  /** Settles once LISTEN has run for this channel. */
  ready: Promise<void>;
}

export class PostgresListener {
  readonly #clientConfig: pg.ClientConfig;
  readonly #reconnectDelayMsMax: number;
  readonly #logger: StoreLogger;
  readonly #channels = new Map<string, ChannelState>();
  #client: pg.Client | null = null;
  /** Connection changes, LISTEN and UNLISTEN run one after another on this chain. */
  #chain: Promise<unknown> = Promise.resolve();
  #reconnectTimer: NodeJS.Timeout | null = null;
  #reconnectAttempts = 0;
  #closed = false;

  constructor(clientConfig: pg.ClientConfig, reconnectDelayMsMax: number, logger: StoreLogger) {
    this.#clientConfig = clientConfig;
    this.#reconnectDelayMsMax = reconnectDelayMsMax;
    this.#logger = logger;
  }

  async subscribe(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    if (this.#closed) throw closedError();
    const subscriber = { onNotify };
    let state = this.#channels.get(channel);
    if (state === undefined) {
      const created: ChannelState = { subscribers: new Set([subscriber]), ready: Promise.resolve() };
      created.ready = this.#enqueue(async () => {
        const client = await this.#connected();
        await client.query(`LISTEN ${quoteIdentifier(channel)}`);
      });
      this.#channels.set(channel, created);
      state = created;
    } else {
      state.subscribers.add(subscriber);
    }
    try {
      await state.ready;
    } catch (error) {
      this.#removeSubscriber(channel, state, subscriber);
      throw error;
    }
    let subscribed = true;
    return async () => {
      if (!subscribed) return;
      subscribed = false;
      this.#removeSubscriber(channel, state, subscriber);
      if (this.#channels.has(channel) || this.#closed) return;
      await this.#enqueue(async () => {
        // A later subscription may have claimed the channel again, and a lost connection has no LISTEN to undo.
        if (this.#channels.has(channel) || this.#client === null) return;
        await this.#client.query(`UNLISTEN ${quoteIdentifier(channel)}`);
      });
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    await this.#chain.catch(() => undefined);
    const client = this.#client;
    this.#client = null;
    this.#channels.clear();
    if (client !== null) await client.end().catch(() => undefined);
  }

  #removeSubscriber(channel: string, state: ChannelState, subscriber: { onNotify: (payload: string) => void }): void {
    state.subscribers.delete(subscriber);
    if (state.subscribers.size === 0 && this.#channels.get(channel) === state) this.#channels.delete(channel);
  }

  #enqueue<T>(step: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(step);
    this.#chain = result.catch(() => undefined);
    return result;
  }

  /** Returns the live connection, opening one (and listening on every channel) when there is none. */
  async #connected(): Promise<pg.Client> {
    if (this.#closed) throw closedError();
    if (this.#client !== null) return this.#client;
    const client = new pg.Client(this.#clientConfig);
    client.on("error", (error) => this.#onConnectionLost(client, error));
    client.on("end", () => this.#onConnectionLost(client, null));
    client.on("notification", (message) => this.#onNotification(message));
    try {
      await client.connect();
      for (const channel of this.#channels.keys()) await client.query(`LISTEN ${quoteIdentifier(channel)}`);
    } catch (error) {
      client.removeAllListeners("end");
      client.on("error", () => undefined);
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      throw closedError();
    }
    this.#client = client;
    return client;
  }

  #onNotification(message: pg.Notification): void {
    const state = this.#channels.get(message.channel);
    if (state === undefined) return;
    for (const subscriber of state.subscribers) {
      deliverNotification(message.channel, message.payload ?? "", subscriber.onNotify, this.#logger);
    }
  }

  #onConnectionLost(client: pg.Client, error: Error | null): void {
    if (this.#client !== client) return;
    this.#client = null;
    client.end().catch(() => undefined);
    if (this.#closed) return;
    this.#logger.warn({ err: error }, "the LISTEN connection to PostgreSQL was lost; reconnecting");
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnectTimer !== null || this.#channels.size === 0) return;
    const delayMs = Math.min(
      this.#reconnectDelayMsMax,
      LISTEN_RECONNECT_DELAY_MS_MIN * 2 ** Math.min(this.#reconnectAttempts, 16),
    );
    this.#reconnectAttempts += 1;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      this.#enqueue(() => this.#connected()).then(
        () => {
          this.#logger.info({ attempts: this.#reconnectAttempts }, "the LISTEN connection to PostgreSQL is restored");
          this.#reconnectAttempts = 0;
        },
        (error: unknown) => {
          if (this.#closed) return;
          this.#logger.warn({ err: error, attempts: this.#reconnectAttempts }, "reconnecting LISTEN failed; retrying");
          this.#scheduleReconnect();
        },
      );
    }, delayMs);
  }
}
