// A sleep that can be cut short: the outbox relay waits for work or for a backoff with one, and stop() or a
// notification wakes it at once.

/** A sleep that stop() (and, when wakeable, a notification) can cut short. */
export class Waiter {
  #resolve: ((woken: boolean) => void) | null = null;
  #timer: NodeJS.Timeout | null = null;

  /** Resolves to true when wake() cut it short, false when the time ran out. */
  wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#timer = setTimeout(() => this.#end(false), ms);
    });
  }

  wake(): void {
    this.#end(true);
  }

  #end(woken: boolean): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const resolve = this.#resolve;
    this.#resolve = null;
    resolve?.(woken);
  }
}
