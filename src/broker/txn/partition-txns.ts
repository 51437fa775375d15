// One partition's view of transactions: the open transaction of each producer (where its first batch lies, which
// holds back the last stable offset) and the aborted transactions a read_committed fetch must be told about. Open
// transactions are rebuilt on restart from the transaction log; aborted ones are kept in it (Kafka's .txnindex) and
// dropped once retention or DeleteRecords has moved the log start past their abort marker.

export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  /** The offset of the abort marker. */
  lastOffset: number;
}

export class PartitionTxns {
  /** Producer id → the first offset of its open transaction in this partition. */
  private readonly open = new Map<number, number>();
  /** Ordered by lastOffset, as markers are appended in offset order. */
  private aborted: AbortedTxn[] = [];

  /** Notes a transactional batch appended at `offset`; only the first of a transaction matters. */
  begin(producerId: number, offset: number): void {
    if (!this.open.has(producerId)) this.open.set(producerId, offset);
  }

  /** The first offset of the producer's open transaction here, or undefined. */
  openAt(producerId: number): number | undefined {
    return this.open.get(producerId);
  }

  openTransactions(): ReadonlyMap<number, number> {
    return this.open;
  }

  /**
   * Closes the producer's transaction with a marker at `markerOffset`; for an abort returns the aborted range to
   * remember, or null when the producer wrote nothing here (the marker then hides nothing).
   */
  end(producerId: number, committed: boolean, markerOffset: number): AbortedTxn | null {
    const firstOffset = this.open.get(producerId);
    this.open.delete(producerId);
    if (committed || firstOffset === undefined) return null;
    const entry = { producerId, firstOffset, lastOffset: markerOffset };
    this.aborted.push(entry);
    return entry;
  }

  /** Adds an aborted transaction read back from the transaction log. */
  restoreAborted(entry: AbortedTxn): void {
    const last = this.aborted.at(-1);
    if (last !== undefined && last.lastOffset > entry.lastOffset) {
      this.aborted.push(entry);
      this.aborted.sort((a, b) => a.lastOffset - b.lastOffset);
    } else if (last === undefined || last.lastOffset !== entry.lastOffset || last.producerId !== entry.producerId) {
      this.aborted.push(entry);
    }
  }

  /** Everything below this is decided: the first offset of the oldest open transaction, or the log end. */
  lastStableOffset(logEndOffset: number): number {
    let stable = logEndOffset;
    for (const first of this.open.values()) if (first < stable) stable = first;
    return stable;
  }

  /** The aborted transactions that overlap offsets [from, to): those a fetch returning that range must name. */
  abortedBetween(from: number, to: number): AbortedTxn[] {
    const found: AbortedTxn[] = [];
    for (let i = this.firstEndingAtOrAfter(from); i < this.aborted.length; i++) {
      const entry = this.aborted[i]!;
      if (entry.firstOffset < to) found.push(entry);
    }
    return found;
  }

  /**
   * Forgets aborted transactions whose abort markers the log cleaner removed (with every batch of theirs): a reader
   * told of an aborted range whose marker it never meets would take the producer's later records for aborted too.
   */
  forgetAborted(ranges: readonly Pick<AbortedTxn, "producerId" | "lastOffset">[]): void {
    if (ranges.length === 0) return;
    this.aborted = this.aborted.filter(
      (entry) => !ranges.some((r) => r.producerId === entry.producerId && r.lastOffset === entry.lastOffset),
    );
  }

  /** Forgets aborted transactions whose marker lies below the log start; returns the ones kept. */
  pruneBefore(logStartOffset: number): readonly AbortedTxn[] {
    const first = this.firstEndingAtOrAfter(logStartOffset);
    if (first > 0) this.aborted = this.aborted.slice(first);
    return this.aborted;
  }

  private firstEndingAtOrAfter(offset: number): number {
    let low = 0;
    let high = this.aborted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.aborted[middle]!.lastOffset < offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
