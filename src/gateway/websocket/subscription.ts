// One connection's subscription to one topic: per partition, the next offset the client should get, and whether
// that partition follows the live stream or is still replaying older events from the log. Events reach it from two
// sides, the topic's live reader and (while resuming) a replay reader; the cursor makes sure the client sees each
// offset once and in order, whichever side delivers it first.

import type { EventFrame } from "./event-frame.js";
import { WebSocketErrorCode, WebSocketRequestError } from "./protocol.js";
import type { RecentEvents } from "./recent-events.js";

/** Where a subscription sends its events: the connection. */
export interface EventSink {
  /** Sends a message; false when the connection is closed or was just closed for being too slow. */
  send(data: Buffer | string): boolean;
  /**
   * Runs `sendAll`, holding what it sends back until it returns so that it leaves in one write: a system call per
   * event and client is what fan-out would otherwise spend its time on.
   */
  inOneWrite(sendAll: () => void): void;
}

interface Cursor {
  next: number;
  /** The partition's events before the recent ones are still being read from the log. */
  replaying: boolean;
}

export class Subscription {
  private readonly cursors = new Map<number, Cursor>();

  constructor(
    readonly topic: string,
    readonly key: string | null,
    private readonly sink: EventSink,
    private readonly recent: RecentEvents,
  ) {}

  /**
   * Sets where each partition starts: `resume` gives the next offset wanted per partition; every other partition
   * starts at the live end. Returns the partitions whose wanted offset is older than the recent events hold, which
   * must be replayed from the log. Sends nothing.
   */
  position(resume: ReadonlyMap<number, number>): number[] {
    const partitions = this.recent.partitions();
    const replay: number[] = [];
    for (const [partition] of resume) {
      if (!partitions.includes(partition)) {
        throw new WebSocketRequestError(
          WebSocketErrorCode.VALIDATION_FAILED,
          `resume.${partition} names a partition topic "${this.topic}" does not have (it has ${partitions.length})`,
          { field: `resume.${partition}`, topic: this.topic },
        );
      }
    }
    for (const partition of partitions) {
      const liveEnd = this.recent.coveredTo(partition) ?? 0;
      const oldestHeld = this.recent.coveredFrom(partition) ?? liveEnd;
      const wanted = resume.get(partition);
      if (wanted === undefined) {
        this.cursors.set(partition, { next: liveEnd, replaying: false });
      } else if (wanted >= oldestHeld) {
        this.cursors.set(partition, { next: wanted, replaying: false });
      } else {
        this.cursors.set(partition, { next: wanted, replaying: true });
        replay.push(partition);
      }
    }
    return replay;
  }

  /** Per partition, the next offset the client will receive. */
  offsets(): Map<number, number> {
    return new Map([...this.cursors].map(([partition, cursor]) => [partition, cursor.next]));
  }

  /** Sends the recent events a resuming client missed, on the partitions that are not replaying from the log. */
  sendRecent(): void {
    this.sink.inOneWrite(() => {
      for (const [partition, cursor] of this.cursors) {
        if (!cursor.replaying) this.catchUpFromRecent(partition, cursor);
      }
    });
  }

  /** Events the topic's live reader read, in offset order; returns how many were sent. */
  deliverLive(frames: readonly EventFrame[]): number {
    let sent = 0;
    this.sink.inOneWrite(() => {
      for (const frame of frames) if (this.deliverOne(frame)) sent += 1;
    });
    return sent;
  }

  private deliverOne(frame: EventFrame): boolean {
    let cursor = this.cursors.get(frame.partition);
    if (cursor === undefined) {
      // A partition added to the topic after this subscription started: all of it is new.
      cursor = { next: frame.offset, replaying: false };
      this.cursors.set(frame.partition, cursor);
    }
    if (cursor.replaying || frame.offset < cursor.next) return false;
    cursor.next = frame.offset + 1;
    return this.sendIfWanted(frame);
  }

  isReplaying(partition: number): boolean {
    return this.cursors.get(partition)?.replaying ?? false;
  }

  replayingPartitions(): number[] {
    return [...this.cursors].filter(([, cursor]) => cursor.replaying).map(([partition]) => partition);
  }

  nextOffset(partition: number): number | undefined {
    return this.cursors.get(partition)?.next;
  }

  /**
   * An event the replay reader read. Once the partition reaches the recent events, the rest comes from them and the
   * partition follows the live stream; returns true then (the replay of this partition is done).
   */
  deliverReplayed(frame: EventFrame): boolean {
    const cursor = this.cursors.get(frame.partition);
    if (cursor === undefined || !cursor.replaying) return true;
    if (frame.offset >= cursor.next) {
      cursor.next = frame.offset + 1;
      this.sendIfWanted(frame);
    }
    const oldestHeld = this.recent.coveredFrom(frame.partition);
    if (oldestHeld === undefined || cursor.next < oldestHeld) return false;
    cursor.replaying = false;
    this.sink.inOneWrite(() => this.catchUpFromRecent(frame.partition, cursor));
    return true;
  }

  private catchUpFromRecent(partition: number, cursor: Cursor): void {
    const liveEnd = this.recent.coveredTo(partition);
    if (liveEnd === undefined || cursor.next >= liveEnd) return;
    for (const frame of this.recent.framesFrom(partition, cursor.next)) {
      if (this.key !== null && frame.key !== this.key) continue;
      if (!this.sink.send(frame.bytes)) return;
    }
    cursor.next = liveEnd;
  }

  private sendIfWanted(frame: EventFrame): boolean {
    if (this.key !== null && frame.key !== this.key) return false;
    return this.sink.send(frame.bytes);
  }
}
