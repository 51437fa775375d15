// Enforcing client quotas as Kafka does: the quota that applies to a request is found by Kafka's precedence over
// (user, client id) entities, usage is measured as a rate over sampled windows (quota.window.num = 11 windows of
// quota.window.size.seconds = 1), and a client over its quota gets throttle_time_ms in the response and has its
// connection muted for that long (KIP-219). Produce bytes count the request, fetch bytes the response; a throttled
// fetch is answered without records, its bytes unrecorded, as Kafka does. request_percentage counts the time the
// broker spent handling the client's requests, 100 being all of one thread.

import type { QuotaEntityPart, QuotaStore } from "./quotas.js";

/** Kafka's quota.window.num: how many sample windows a rate is measured over. */
export const QUOTA_WINDOW_SAMPLES = 11;
/** Kafka's quota.window.size.seconds, in ms. */
export const QUOTA_WINDOW_MS = 1000;
/** The longest one response is throttled: the whole measured window. */
export const QUOTA_THROTTLE_MS_MAX = QUOTA_WINDOW_SAMPLES * QUOTA_WINDOW_MS;
/** Rate sensors kept (one per quota entity and kind); the least recently used goes first. */
export const QUOTA_SENSORS_MAX = 10_000;
/** What Kafka calls a connection without an authenticated user. */
export const ANONYMOUS_USER = "ANONYMOUS";

export type QuotaKind = "producer_byte_rate" | "consumer_byte_rate" | "request_percentage";

/** A rate over sampled windows, as Kafka's Rate with SampledStat measures it. */
class Rate {
  private readonly starts = new Float64Array(QUOTA_WINDOW_SAMPLES).fill(-1);
  private readonly values = new Float64Array(QUOTA_WINDOW_SAMPLES);
  private current = 0;

  record(amount: number, nowMs: number): void {
    if (this.starts[this.current]! < 0 || nowMs >= this.starts[this.current]! + QUOTA_WINDOW_MS) {
      this.current = (this.current + 1) % QUOTA_WINDOW_SAMPLES;
      this.starts[this.current] = nowMs;
      this.values[this.current] = 0;
    }
    this.values[this.current]! += amount;
  }

  /** Amount per second, and the window length (ms) it was measured over. */
  measure(nowMs: number): { perSecond: number; windowMs: number } {
    let total = 0;
    let oldest = nowMs;
    for (let i = 0; i < QUOTA_WINDOW_SAMPLES; i++) {
      const start = this.starts[i]!;
      // Samples older than the whole window no longer count.
      if (start < 0 || nowMs - start >= QUOTA_WINDOW_SAMPLES * QUOTA_WINDOW_MS) continue;
      total += this.values[i]!;
      oldest = Math.min(oldest, start);
    }
    // Like Kafka, a young rate is measured over at least all but one full window, so one burst is not a high rate.
    let windowMs = nowMs - oldest;
    const fullWindows = Math.floor(windowMs / QUOTA_WINDOW_MS);
    if (fullWindows < QUOTA_WINDOW_SAMPLES - 1) windowMs += (QUOTA_WINDOW_SAMPLES - 1 - fullWindows) * QUOTA_WINDOW_MS;
    return { perSecond: (total * 1000) / windowMs, windowMs };
  }
}

interface ResolvedQuota {
  bound: number;
  /** The sensor the usage goes to: all clients the quota entity covers share it. */
  sensorKey: string;
}

export class QuotaEnforcer {
  private readonly sensors = new Map<string, Rate>();

  constructor(
    private readonly store: QuotaStore,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The quota of `kind` for this user and client id, by Kafka's precedence: user and client id, user and default
   * client id, user, default user and client id, default user and default client id, default user, client id,
   * default client id. The usage of clients matched through a default is still measured per user or client id.
   */
  private resolve(kind: QuotaKind, user: string, clientId: string): ResolvedQuota | null {
    if (this.store.size === 0) return null;
    const both = `user=${user},client-id=${clientId}`;
    const userOnly = `user=${user}`;
    const clientOnly = `client-id=${clientId}`;
    const candidates: Array<[QuotaEntityPart[], string]> = [
      [
        [
          { entityType: "user", entityName: user },
          { entityType: "client-id", entityName: clientId },
        ],
        both,
      ],
      [
        [
          { entityType: "user", entityName: user },
          { entityType: "client-id", entityName: null },
        ],
        both,
      ],
      [[{ entityType: "user", entityName: user }], userOnly],
      [
        [
          { entityType: "user", entityName: null },
          { entityType: "client-id", entityName: clientId },
        ],
        both,
      ],
      [
        [
          { entityType: "user", entityName: null },
          { entityType: "client-id", entityName: null },
        ],
        both,
      ],
      [[{ entityType: "user", entityName: null }], userOnly],
      [[{ entityType: "client-id", entityName: clientId }], clientOnly],
      [[{ entityType: "client-id", entityName: null }], clientOnly],
    ];
    for (const [entity, sensorKey] of candidates) {
      const bound = this.store.valuesOf(entity)?.[kind];
      if (bound !== undefined) return { bound, sensorKey: `${kind}:${sensorKey}` };
    }
    return null;
  }

  private sensor(key: string): Rate {
    let rate = this.sensors.get(key);
    if (rate === undefined) {
      rate = new Rate();
      if (this.sensors.size >= QUOTA_SENSORS_MAX) this.sensors.delete(this.sensors.keys().next().value as string);
    } else {
      this.sensors.delete(key);
    }
    this.sensors.set(key, rate);
    return rate;
  }

  /**
   * Records `amount` (bytes, or ms of handling for request_percentage) against the client's quota and returns how
   * long to throttle it, 0 when it is within its quota or none applies.
   */
  record(kind: QuotaKind, user: string | null, clientId: string | null, amount: number): number {
    const quota = this.resolve(kind, user ?? ANONYMOUS_USER, clientId ?? "");
    if (quota === null) return 0;
    const nowMs = this.now();
    const rate = this.sensor(quota.sensorKey);
    rate.record(amount, nowMs);
    const { perSecond, windowMs } = rate.measure(nowMs);
    // request_percentage is measured in ms per second: 1000 ms per second is 100 percent.
    const observed = kind === "request_percentage" ? perSecond / 10 : perSecond;
    if (observed <= quota.bound) return 0;
    return Math.min(Math.round(((observed - quota.bound) / quota.bound) * windowMs), QUOTA_THROTTLE_MS_MAX);
  }

  /** Takes back usage recorded for a response that was not sent as measured (a throttled fetch). */
  unrecord(kind: QuotaKind, user: string | null, clientId: string | null, amount: number): void {
    const quota = this.resolve(kind, user ?? ANONYMOUS_USER, clientId ?? "");
    if (quota !== null) this.sensor(quota.sensorKey).record(-amount, this.now());
  }
}
