// A task repeated on a timer that runs less often while it finds nothing to do: after a run that did no work the
// next waits twice as long, up to a ceiling; a run that did work, or activity reported by the caller, brings it back
// to its base interval. Cleanups and the console's sampler use it, so that an idle process is not woken every
// minute to delete nothing or to sample a cluster where nothing moves.

/** The longest an idle cleanup waits between runs, unless its base interval is longer still. */
export const IDLE_CLEANUP_INTERVAL_MS_MAX = 10 * 60 * 1000;

export class IdleBackoffTimer {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #task: () => Promise<boolean>;
  #delayMs: number;
  #timer: NodeJS.Timeout | null = null;
  #dueAt = 0;
  #running = false;
  #stopped = true;
  /** Activity was reported since the last run began. */
  #active = false;

  /** task resolves to whether it found work; it must not reject (the caller logs its own failures). */
  constructor(baseMs: number, maxMs: number, task: () => Promise<boolean>) {
    this.#baseMs = baseMs;
    this.#maxMs = Math.max(baseMs, maxMs);
    this.#task = task;
    this.#delayMs = baseMs;
  }

  /** The wait before the next run, in milliseconds (for tests and status). */
  get delayMs(): number {
    return this.#delayMs;
  }

  /** Starts the timer; the first run comes after firstDelayMs (the base interval unless given). */
  start(firstDelayMs = this.#baseMs): void {
    this.#stopped = false;
    this.#arm(firstDelayMs);
    this.#delayMs = this.#baseMs;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Work may be waiting again: the next run comes within the base interval. */
  noteActivity(): void {
    this.#active = true;
    if (this.#timer !== null && this.#dueAt - performance.now() > this.#baseMs) this.#arm(this.#baseMs);
  }

  #arm(delayMs: number): void {
    if (this.#stopped || this.#running) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#delayMs = delayMs;
    this.#dueAt = performance.now() + delayMs;
    this.#timer = setTimeout(() => void this.#run(), delayMs);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    this.#timer = null;
    this.#running = true;
    this.#active = false;
    let worked = false;
    try {
      worked = await this.#task();
    } finally {
      this.#running = false;
    }
    this.#arm(worked || this.#active ? this.#baseMs : Math.min(this.#delayMs * 2, this.#maxMs));
  }
}
