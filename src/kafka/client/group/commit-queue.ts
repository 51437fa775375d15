// A group consumer's offset commits, sent in the background so that a partition's next fetch need not wait for the
// broker to store its last offset. Each partition has at most one commit in flight, so its commits stay in order;
// offsets committed while one is in flight coalesce, and only the newest is sent next. A commit's promise settles when
// its offset, or a newer one that replaced it, is committed or refused.

import { partitionKey } from "../cluster/routing.js";

export interface QueuedCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

interface Pending {
  commit: QueuedCommit;
  send: (commit: QueuedCommit) => Promise<void>;
  readonly settled: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export class CommitQueue {
  /** Per partition: the commit in flight (settled when it is sent and every commit queued behind it). */
  private readonly sending = new Map<string, Promise<void>>();
  private readonly pending = new Map<string, Pending>();

  /** Queues `commit`, sent by `send` once the partition's commit in flight (if any) has settled. */
  commit(commit: QueuedCommit, send: (commit: QueuedCommit) => Promise<void>): Promise<void> {
    const key = partitionKey(commit.topic, commit.partition);
    const waiting = this.pending.get(key);
    if (waiting !== undefined) {
      waiting.commit = commit;
      waiting.send = send;
      return waiting.settled;
    }
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const settled = new Promise<void>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    // A caller that does not await its commit must not leave an unhandled rejection behind.
    settled.catch(() => undefined);
    this.pending.set(key, { commit, send, settled, resolve, reject });
    if (!this.sending.has(key)) this.sending.set(key, this.drain(key));
    return settled;
  }

  /** Resolves once every queued commit has been sent and answered (whether it succeeded or not). */
  async flush(): Promise<void> {
    while (this.sending.size > 0) await Promise.all(this.sending.values());
  }

  private async drain(key: string): Promise<void> {
    for (let next = this.pending.get(key); next !== undefined; next = this.pending.get(key)) {
      this.pending.delete(key);
      try {
        await next.send(next.commit);
        next.resolve();
      } catch (error) {
        next.reject(error);
      }
    }
    this.sending.delete(key);
  }
}
