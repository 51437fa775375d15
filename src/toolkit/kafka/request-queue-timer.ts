// Quiets kafkajs 2.2's timers, which kept an idle `sluice up` at about 4% of a core. Its per-connection RequestQueue
// re-arms a setTimeout after every check, even with nothing pending and no throttling: the delay it computes is then
// negative, Node runs it after 1 ms, and every connection wakes the process about a thousand times a second for ever.
// The replacement arms the timer only when a request waits: for the end of the broker's throttling, or, when the
// queue is merely full, as a fallback to the check every answered request makes anyway. Each connection also swept
// its requests for timeouts every 100 ms, connected or idle; here one timer per connection is armed, while requests
// are in flight, for the earliest moment one of them can time out, so an idle connection never wakes the process.

import { createRequire } from "node:module";

/** kafkajs's own fallback interval for a queue that is full but not throttled. */
export const PENDING_REQUESTS_CHECK_INTERVAL_MS = 10;

interface InFlightRequest {
  /** Set once the request is written, just after it enters the in-flight map. */
  sentAt: number | null;
  requestTimeout: number;
  timeoutRequest(): void;
}

interface RequestQueueState {
  pending: unknown[];
  inflight: Map<unknown, InFlightRequest>;
  enforceRequestTimeout: boolean;
  requestTimeout: number;
  /** kafkajs's name for its sweep; destroy() clears it, so the one-shot timer is kept here too. */
  requestTimeoutIntervalId: ReturnType<typeof setTimeout> | null;
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

/** When the request times out: its timeout after it was sent (or, before that, from now). */
function deadlineOf(request: InFlightRequest, now: number): number {
  return (request.sentAt ?? now) + request.requestTimeout;
}

/** Times out the requests past their deadline, and arms the timer for the earliest of the others, if any. */
function checkRequestTimeouts(queue: RequestQueueState): void {
  queue.requestTimeoutIntervalId = null;
  const now = Date.now();
  let earliest = Number.POSITIVE_INFINITY;
  for (const request of [...queue.inflight.values()]) {
    const deadline = deadlineOf(request, now);
    if (now > deadline) request.timeoutRequest();
    else earliest = Math.min(earliest, deadline);
  }
  if (earliest !== Number.POSITIVE_INFINITY && queue.isConnected()) armTimeoutCheck(queue, earliest - now + 1);
}

function armTimeoutCheck(queue: RequestQueueState, delayMs: number): void {
  queue.requestTimeoutIntervalId = setTimeout(() => checkRequestTimeouts(queue), delayMs);
}

/**
 * The in-flight requests of a queue that enforces timeouts: adding one arms the queue's timeout check when none is
 * armed. An armed check stays until it fires (a request answered does not disarm it): at most one wake-up per
 * request timeout while requests come and go, none once they stop.
 */
class TimedInFlightRequests extends Map<unknown, InFlightRequest> {
  constructor(private readonly queue: RequestQueueState) {
    super();
  }

  override set(correlationId: unknown, request: InFlightRequest): this {
    super.set(correlationId, request);
    if (this.queue.requestTimeoutIntervalId === null || this.queue.requestTimeoutIntervalId === undefined) {
      armTimeoutCheck(this.queue, request.requestTimeout + 1);
    }
    return this;
  }
}

/** Called by kafkajs when the connection is made; the sweep it set up is replaced by TimedInFlightRequests. */
function scheduleRequestTimeoutCheck(this: RequestQueueState): void {
  if (!this.enforceRequestTimeout) return;
  this.destroy();
  if (!(this.inflight instanceof TimedInFlightRequests)) {
    const inflight = new TimedInFlightRequests(this);
    for (const [correlationId, request] of this.inflight) inflight.set(correlationId, request);
    this.inflight = inflight;
  }
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
 * Replaces RequestQueue.scheduleCheckPendingRequests and scheduleRequestTimeoutCheck in the kafkajs this package loads; idempotent. Returns whether
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
    String(prototype.scheduleRequestTimeoutCheck).includes("requestTimeoutIntervalId") &&
    String(prototype.destroy).includes("requestTimeoutIntervalId");
  if (!recognized) return false;
  prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  prototype.scheduleRequestTimeoutCheck = scheduleRequestTimeoutCheck;
  // kafkajs's destroy() clears the timer but keeps its handle, which would read as armed to TimedInFlightRequests.
  const destroy = prototype.destroy;
  prototype.destroy = function (this: RequestQueueState): void {
    destroy.call(this);
    this.requestTimeoutIntervalId = null;
  };
  installed = true;
  return true;
}
