// The outbox relay's waits: for new rows, for rows held back by an older transaction, and the backoff after a failure.
//
// The relay wakes on LISTEN/NOTIFY when the database offers it (a trigger notifies on every commit of outbox rows) and
// also polls on a slow timer, because notifications sent while the listening connection is down are lost; without
// LISTEN it polls often. On a database no other process uses (PGlite), where notifications arrive in-process and dead
// leases are taken over at start, the safety-net poll slows down, doubling after each poll that found nothing up to
// idlePollIntervalMaxMs, so that an idle process sleeps.

import { Waiter } from "../platform/waiter.js";
import type { ResolvedRelayOptions } from "./outbox-relay-options.js";

/** The first and the longest wait for rows held back by an older transaction that is still running. */
const RELAY_HELD_BACK_WAIT_MS_MIN = 2;
const RELAY_HELD_BACK_WAIT_MS_MAX = 200;

export class RelayWaits {
  readonly #options: ResolvedRelayOptions;
  readonly #random: () => number;
  readonly #workWaiter = new Waiter();
  readonly #backoffWaiter = new Waiter();
  #wakePending = false;
  /** The next safety-net poll's wait while LISTEN wakes the relay (see idlePollIntervalMaxMs). */
  #safetyNetPollMs: number;
  /** The last wait for rows held back by an older transaction (see forHorizon); 0 when none are. */
  #heldBackWaitMs = 0;

  constructor(options: ResolvedRelayOptions, random: () => number) {
    this.#options = options;
    this.#random = random;
    this.#safetyNetPollMs = options.idlePollIntervalMs;
  }

  /** How long the relay, idle, waits before it looks for rows again unless woken. */
  idlePollMs(listening: boolean): number {
    return listening ? this.#safetyNetPollMs : this.#options.pollIntervalMs;
  }

  /** Makes the relay look for rows now, as a notification would. */
  wake(): void {
    this.#wakePending = true;
    this.#workWaiter.wake();
  }

  /** Cuts every wait short: the relay stops, or another relay took the cursor. */
  interrupt(): void {
    this.#workWaiter.wake();
    this.#backoffWaiter.wake();
  }

  /** Rows were read: the next waits start again from their shortest. */
  noteRows(): void {
    this.#heldBackWaitMs = 0;
    this.#safetyNetPollMs = this.#options.idlePollIntervalMs;
  }

  /** A wait that interrupt() cuts short. */
  sleep(ms: number): Promise<boolean> {
    return this.#backoffWaiter.wait(ms);
  }

  /**
   * Waits while committed rows are held back by an older transaction still running (see store/sql/outbox-cursor.ts):
   * no notification comes when it ends, so the relay looks again after a wait that doubles while they stay held back.
   */
  async forHorizon(): Promise<void> {
    this.#heldBackWaitMs = Math.min(
      Math.max(this.#heldBackWaitMs * 2, RELAY_HELD_BACK_WAIT_MS_MIN),
      RELAY_HELD_BACK_WAIT_MS_MAX,
    );
    await this.#backoffWaiter.wait(this.#heldBackWaitMs);
  }

  /** Whether a wake came since the last wait for work, which then is not needed; clears it. */
  takePendingWake(): boolean {
    const pending = this.#wakePending;
    this.#wakePending = false;
    return pending;
  }

  /** Waits for a notification or the next poll. */
  async forWork(listening: boolean): Promise<void> {
    if (!listening) {
      await this.#workWaiter.wait(this.#options.pollIntervalMs);
    } else {
      const woken = await this.#workWaiter.wait(this.#safetyNetPollMs);
      const { idlePollIntervalMs, idlePollIntervalMaxMs } = this.#options;
      this.#safetyNetPollMs = woken ? idlePollIntervalMs : Math.min(this.#safetyNetPollMs * 2, idlePollIntervalMaxMs);
    }
    this.#wakePending = false;
  }

  /** The exponential backoff after consecutiveFailures failures in a row. */
  async backoff(consecutiveFailures: number): Promise<void> {
    const exponent = Math.min(Math.max(consecutiveFailures - 1, 0), 30);
    const ceiling = Math.min(this.#options.backoffMaxMs, this.#options.backoffBaseMs * 2 ** exponent);
    // Half fixed, half random: relays that failed together do not all retry at the same moment.
    await this.#backoffWaiter.wait(Math.round(ceiling / 2 + (this.#random() * ceiling) / 2));
  }
}
