// A wake-up for a loop that waits: next() settles at the following notify(), so a loop can wait for "something
// changed" (a rejoin needed, a stop, a partition resumed) without polling. Waiting again before a notify shares one
// promise, so an idle loop adds nothing per turn.

export class Signal {
  private pending: { promise: Promise<void>; resolve: () => void } | null = null;

  /** Settles at the next notify(). */
  next(): Promise<void> {
    if (this.pending === null) {
      let resolve: () => void = () => undefined;
      const promise = new Promise<void>((settle) => (resolve = settle));
      this.pending = { promise, resolve };
    }
    return this.pending.promise;
  }

  notify(): void {
    const pending = this.pending;
    this.pending = null;
    pending?.resolve();
  }
}
