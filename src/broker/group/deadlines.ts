// Keyed deadlines measured on an injectable clock. Session, join and pending-member timeouts are deadlines here
// rather than one Node timer each, so that a test can move the clock and run what is due without waiting, and
// so that resetting a member's session on every heartbeat is a map update instead of a timer re-creation. One
// real timer (unref'd) is armed for the earliest deadline; when it fires it only runs what the clock says is due.

interface Deadline {
  readonly key: string;
  readonly atMs: number;
  readonly sequence: number;
  readonly callback: () => void;
  live: boolean;
}

/** Node timers cannot wait longer than a signed 32-bit millisecond count. */
const TIMER_DELAY_MS_MAX = 2 ** 31 - 1;
/** Superseded heap entries are dropped once they outnumber live ones by this many. */
const STALE_ENTRIES_SLACK = 1024;

export class DeadlineQueue {
  private readonly byKey = new Map<string, Deadline>();
  private heap: Deadline[] = [];
  private nextSequence = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAtMs = Infinity;
  private closed = false;

  constructor(
    private readonly now: () => number,
    private readonly onError: (error: unknown, key: string) => void,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  /** Live and superseded entries held; kept to about twice the live count. */
  get storedEntries(): number {
    return this.heap.length;
  }

  /** Runs `callback` once the clock reaches `atMs`, replacing any deadline already set under `key`. */
  schedule(key: string, atMs: number, callback: () => void): void {
    if (this.closed) return;
    const previous = this.byKey.get(key);
    if (previous !== undefined) previous.live = false;
    const deadline: Deadline = { key, atMs, sequence: this.nextSequence++, callback, live: true };
    this.byKey.set(key, deadline);
    this.push(deadline);
    if (this.heap.length > 2 * this.byKey.size + STALE_ENTRIES_SLACK) this.dropStale();
    this.arm();
  }

  cancel(key: string): void {
    const deadline = this.byKey.get(key);
    if (deadline === undefined) return;
    deadline.live = false;
    this.byKey.delete(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /**
   * Runs every deadline that is due by the clock, earliest first, and returns how many ran. Deadlines set by those
   * callbacks wait for the next call even when already due, so a callback that reschedules itself cannot spin.
   */
  runDue(): number {
    const nowMs = this.now();
    const lastSequence = this.nextSequence;
    const deferred: Deadline[] = [];
    let ran = 0;
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (!top.live) {
        this.pop();
        continue;
      }
      if (top.atMs > nowMs) break;
      this.pop();
      if (top.sequence >= lastSequence) {
        deferred.push(top);
        continue;
      }
      top.live = false;
      this.byKey.delete(top.key);
      ran++;
      try {
        top.callback();
      } catch (error) {
        this.onError(error, top.key);
      }
    }
    for (const deadline of deferred) this.push(deadline);
    this.arm();
    return ran;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.byKey.clear();
    this.heap = [];
  }

  private arm(): void {
    if (this.closed) return;
    while (this.heap.length > 0 && !this.heap[0]!.live) this.pop();
    const next = this.heap[0];
    if (next === undefined) {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      this.timerAtMs = Infinity;
      return;
    }
    if (this.timer !== null && this.timerAtMs <= next.atMs) return;
    if (this.timer !== null) clearTimeout(this.timer);
    const delayMs = Math.min(Math.max(0, next.atMs - this.now()), TIMER_DELAY_MS_MAX);
    this.timerAtMs = next.atMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAtMs = Infinity;
      this.runDue();
    }, delayMs);
    this.timer.unref();
  }

  private dropStale(): void {
    this.heap = this.heap.filter((deadline) => deadline.live);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private push(deadline: Deadline): void {
    this.heap.push(deadline);
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(this.heap[i]!, this.heap[parent]!)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private pop(): void {
    const last = this.heap.pop()!;
    if (this.heap.length === 0) return;
    this.heap[0] = last;
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.heap.length && this.before(this.heap[left]!, this.heap[smallest]!)) smallest = left;
      if (right < this.heap.length && this.before(this.heap[right]!, this.heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private before(a: Deadline, b: Deadline): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.sequence < b.sequence);
  }

  private swap(a: number, b: number): void {
    const held = this.heap[a]!;
    this.heap[a] = this.heap[b]!;
    this.heap[b] = held;
  }
}
