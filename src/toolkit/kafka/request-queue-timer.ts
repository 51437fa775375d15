// Quiets kafkajs 2.2's timers, which kept an idle `sluice up` at about 4% of a core. Its per-connection RequestQueue
// re-arms a setTimeout after every check, even with nothing pending and no throttling: the delay it computes is then
// negative, Node runs it after 1 ms, and every connection wakes the process about a thousand times a second for ever.
// The replacement arms the timer only when a request waits: for the end of the broker's throttling, or, when the
// queue is merely full, as a fallback to the check every answered request makes anyway. Each connection also checks
// its requests for timeouts every 100 ms; once a second is as good for timeouts of seconds, at a tenth of the wake-ups.

import { createRequire } from "node:module";

/** kafkajs's own fallback interval for a queue that is full but not throttled. */
export const PENDING_REQUESTS_CHECK_INTERVAL_MS = 10;

/** How often a connection looks for requests that outlived their timeout (kafkajs: 100 ms). */
export const REQUEST_TIMEOUT_CHECK_INTERVAL_MS = 1_000;

interface InFlightRequest {
  sentAt: number;
  requestTimeout: number;
  timeoutRequest(): void;
}

interface RequestQueueState {
  pending: unknown[];
  inflight: Map<unknown, InFlightRequest>;
  enforceRequestTimeout: boolean;
  requestTimeout: number;
  requestTimeoutIntervalId: ReturnType<typeof setInterval> | null;
  isConnected(): boolean;
  destroy(): void;
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
}

type RequestQueuePrototype = RequestQueueState & {
  scheduleCheckPendingRequests(this: RequestQueueState): void;
  scheduleRequestTimeoutCheck(this: RequestQueueState): void;
};

function scheduleRequestTimeoutCheck(this: RequestQueueState): void {
  if (!this.enforceRequestTimeout) return;
  this.destroy();
  this.requestTimeoutIntervalId = setInterval(
    () => {
      for (const request of this.inflight.values()) {
        if (Date.now() - request.sentAt > request.requestTimeout) request.timeoutRequest();
      }
      if (!this.isConnected()) this.destroy();
    },
    Math.min(this.requestTimeout, REQUEST_TIMEOUT_CHECK_INTERVAL_MS),
  );
}

function scheduleCheckPendingRequests(this: RequestQueueState): void {
  if (this.throttleCheckTimeoutId !== null && this.throttleCheckTimeoutId !== undefined) return;
  if (this.pending.length === 0) return;
  const throttledForMs = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttledForMs > 0 ? throttledForMs : PENDING_REQUESTS_CHECK_INTERVAL_MS,
  );
}

let installed = false;

/**
 * Replaces RequestQueue.scheduleCheckPendingRequests in the kafkajs this package loads; idempotent. Returns whether
 * the fix is in place (false when kafkajs changed shape, in which case it is left alone).
 */
export function installRequestQueueTimerFix(): boolean {
  if (installed) return true;
  const require = createRequire(import.meta.url);
  const RequestQueue = require("kafkajs/src/network/requestQueue/index.js") as { prototype?: RequestQueuePrototype };
  const prototype = RequestQueue.prototype;
  const recognized =
    prototype !== undefined &&
    String(prototype.scheduleCheckPendingRequests).includes("throttleCheckTimeoutId") &&
    String(prototype.scheduleRequestTimeoutCheck).includes("requestTimeoutIntervalId");
  if (!recognized) return false;
  prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  prototype.scheduleRequestTimeoutCheck = scheduleRequestTimeoutCheck;
  installed = true;
  return true;
}
