// The gateway's rate limit per client: a token bucket per client address, refilled continuously. Requests over
// the limit get 429 with Retry-After. The table of clients is bounded; past it the least recently seen is dropped.

import type { FastifyReply, FastifyRequest } from "fastify";

import { GatewayError, GatewayErrorCode } from "../../gateway/errors.js";

export const DEFAULT_RATE_LIMIT_PER_SECOND = 200;
export const DEFAULT_RATE_LIMIT_BURST = 400;
export const RATE_LIMIT_CLIENTS_MAX = 10_000;

export interface RateLimiter {
  readonly perSecond: number;
  readonly burst: number;
  onRequest(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

export function createRateLimiter(perSecond: number, burst: number): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    perSecond,
    burst,
    async onRequest(request, reply) {
      const now = Date.now();
      const client = request.ip;
      const bucket = buckets.get(client) ?? { tokens: burst, at: now };
      buckets.delete(client);
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
      bucket.at = now;
      buckets.set(client, bucket);
      if (buckets.size > RATE_LIMIT_CLIENTS_MAX) buckets.delete(buckets.keys().next().value as string);
      if (bucket.tokens < 1) {
        const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
        reply.header("retry-after", String(retryAfterSeconds));
        throw new GatewayError(
          GatewayErrorCode.LIMIT_EXCEEDED,
          `more than ${perSecond} requests a second from ${client}; slow down`,
          { retryAfterSeconds },
        );
      }
      bucket.tokens -= 1;
    },
  };
}

/** JOBS_RATE_LIMIT_PER_SECOND and JOBS_RATE_LIMIT_BURST, or the defaults; "off" turns the limit off. */
export function rateLimiterFromEnv(env: Readonly<Record<string, string | undefined>>): RateLimiter | null {
  const perSecond = env.JOBS_RATE_LIMIT_PER_SECOND;
  if (perSecond === "off") return null;
  const rate = positiveInteger("JOBS_RATE_LIMIT_PER_SECOND", perSecond, DEFAULT_RATE_LIMIT_PER_SECOND);
  return createRateLimiter(rate, positiveInteger("JOBS_RATE_LIMIT_BURST", env.JOBS_RATE_LIMIT_BURST, rate * 2));
}

export function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) throw new RangeError(`${name} must be a positive integer, got "${raw}"`);
  return Number(raw);
}
