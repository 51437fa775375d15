// A first-in, first-out queue whose push and shift take constant time, where Array.prototype.shift() moves every
// element that stays: a queue thousands long would cost that much per item taken.

/** Items taken from the front before the array is compacted, at the least; fewer would copy for little gain. */
const COMPACT_AFTER_MIN = 64;

export class Fifo<T> {
  #items: (T | undefined)[] = [];
  /** The index of the front item; the slots before it are taken and cleared. */
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** Takes the front item, or undefined when the queue is empty. */
  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    // Cleared so that a taken item can be collected while the array still holds its slot.
    this.#items[this.#head] = undefined;
    this.#head += 1;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER_MIN && this.#head * 2 >= this.#items.length) {
      // Copies at most as many items as were taken since the last compaction: constant time per item, amortized.
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
