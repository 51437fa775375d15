// The job listing cache: answers kept in the key-value store under a generation number that every job change
// bumps, so that one increment invalidates every cached page at once. Any store failure reads as a miss, and a
// write that fails is dropped: a Redis outage costs speed, never an answer.

import type { ToolkitLogger } from "../../toolkit/index.js";
import type { KeyValueStore } from "./key-value.js";

export const LISTING_TTL_MS = 60_000;
const GENERATION_KEY = "jobs:listing:generation";

export interface ListingCache {
  /** The cached answer for the query, or null (a miss, or the store is unreachable). */
  get(query: string): Promise<{ generation: string; body: string | null }>;
  put(generation: string, query: string, body: string): Promise<void>;
  /** Makes every cached listing stale; called on each job change and each job event. */
  invalidate(): Promise<void>;
}

export function listingCache(store: KeyValueStore, logger: ToolkitLogger): ListingCache {
  const keyOf = (generation: string, query: string) => `jobs:listing:${generation}:${query}`;
  return {
    async get(query) {
      try {
        const generation = (await store.get(GENERATION_KEY)) ?? "0";
        return { generation, body: await store.get(keyOf(generation, query)) };
      } catch {
        return { generation: "unreachable", body: null };
      }
    },
    async put(generation, query, body) {
      if (generation === "unreachable") return;
      try {
        await store.set(keyOf(generation, query), body, LISTING_TTL_MS);
      } catch {
        // Dropped: the next read is a miss.
      }
    },
    async invalidate() {
      try {
        await store.increment(GENERATION_KEY);
      } catch (error) {
        // Entries written before the outage expire within LISTING_TTL_MS.
        logger.warn({ err: error }, "could not invalidate the job listing cache");
      }
    },
  };
}
