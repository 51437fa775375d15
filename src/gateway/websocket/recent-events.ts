// The recent events of one topic, kept so that a client resuming after a short disconnect is served from memory.
// Bounded by a count and by bytes; the oldest go first. For each partition it knows the range of offsets it holds
// everything of: [from, to), where `to` is the next offset the topic's reader will deliver.

import type { EventFrame } from "./event-frame.js";

export interface RecentEventsLimits {
  eventsMax: number;
  bytesMax: number;
}

interface Coverage {
  from: number;
  to: number;
}

export class RecentEvents {
  private readonly slots: Array<EventFrame | undefined>;
  private head = 0;
  private count = 0;
  private bytes = 0;
  private readonly coverage = new Map<number, Coverage>();

  constructor(private readonly limits: RecentEventsLimits) {
    this.slots = new Array<EventFrame | undefined>(limits.eventsMax);
  }

  get size(): number {
    return this.count;
  }

  get byteCount(): number {
    return this.bytes;
  }

  /** Declares where the reader starts on a partition: from there on, this holds every event until evicted. */
  startPartition(partition: number, offset: number): void {
    if (!this.coverage.has(partition)) this.coverage.set(partition, { from: offset, to: offset });
  }

  partitions(): number[] {
    return [...this.coverage.keys()].sort((left, right) => left - right);
  }

  /** The oldest offset held on the partition (or `to` when none is); undefined for a partition not started. */
  coveredFrom(partition: number): number | undefined {
    return this.coverage.get(partition)?.from;
  }

  /** The next offset the reader will add on the partition; undefined for a partition not started. */
  coveredTo(partition: number): number | undefined {
    return this.coverage.get(partition)?.to;
  }

  /** Adds an event; returns false for one at or below an offset already added (a reader that re-read it). */
  append(frame: EventFrame): boolean {
    const coverage = this.coverage.get(frame.partition);
    if (coverage === undefined) {
      this.coverage.set(frame.partition, { from: frame.offset, to: frame.offset + 1 });
    } else {
      if (frame.offset < coverage.to) return false;
      coverage.to = frame.offset + 1;
    }
    if (this.count === this.slots.length) this.evictOldest();
    this.slots[(this.head + this.count) % this.slots.length] = frame;
    this.count += 1;
    this.bytes += frame.bytes.length;
    while (this.count > 0 && this.bytes > this.limits.bytesMax) this.evictOldest();
    return true;
  }

  /** The events held on the partition at or after the offset, in offset order. */
  framesFrom(partition: number, offset: number): EventFrame[] {
    const frames: EventFrame[] = [];
    for (let index = 0; index < this.count; index += 1) {
      const frame = this.slots[(this.head + index) % this.slots.length];
      if (frame !== undefined && frame.partition === partition && frame.offset >= offset) frames.push(frame);
    }
    return frames;
  }

  private evictOldest(): void {
    const frame = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.slots.length;
    this.count -= 1;
    if (frame === undefined) return;
    this.bytes -= frame.bytes.length;
    const coverage = this.coverage.get(frame.partition);
    if (coverage !== undefined) coverage.from = Math.max(coverage.from, frame.offset + 1);
  }
}
