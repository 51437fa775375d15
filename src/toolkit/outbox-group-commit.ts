// The outbox through a group commit: for a service whose requests only add an event each (an API that accepts
// commands), events added at about the same time share one transaction and one multi-row INSERT. Each value is
// validated and encoded before it joins a group, so a bad value fails its own call alone; add() resolves only once
// the transaction holding its event has committed.

import type { Database } from "../store/index.js";
import { encodeEvent, type EncodedEvent, type EventOptions } from "./event.js";
import { GroupCommit, type GroupCommitStatus } from "./group-commit.js";
import { addEncodedToOutbox } from "./outbox.js";
import type { TopicDefinition } from "./topic.js";

export interface OutboxGroupCommitOptions {
  db: Database;
  /** Labels the metrics (default "outbox"). */
  name?: string;
  /** Events per transaction, at most (default DEFAULT_GROUP_COMMIT_BATCH_MAX). */
  batchMax?: number;
  /** How long a group lingers for more events, in ms (default DEFAULT_GROUP_COMMIT_WAIT_MS, 0: not at all). */
  waitMs?: number;
  /** Events waiting for a group, at most (default DEFAULT_GROUP_COMMIT_QUEUE_MAX). */
  queueMax?: number;
}

export class OutboxGroupCommit {
  readonly #group: GroupCommit<EncodedEvent, string>;

  constructor(options: OutboxGroupCommitOptions) {
    this.#group = new GroupCommit<EncodedEvent, string>({
      db: options.db,
      name: options.name ?? "outbox",
      ...(options.batchMax === undefined ? {} : { batchMax: options.batchMax }),
      ...(options.waitMs === undefined ? {} : { waitMs: options.waitMs }),
      ...(options.queueMax === undefined ? {} : { queueMax: options.queueMax }),
      write: async (tx, events) => {
        await addEncodedToOutbox(tx, events);
        return events.map((event) => ({ ok: true, value: event.id }));
      },
    });
  }

  /**
   * Adds one event to the outbox in the next group's transaction and resolves with its id once that transaction
   * committed. An invalid value rejects at once (EventValidationError) and joins no group; an id already in the
   * outbox adds nothing and resolves with the same id.
   */
  async add<T>(topic: TopicDefinition<T>, value: T, options: EventOptions = {}): Promise<string> {
    return this.#group.submit(await encodeEvent(topic, value, options));
  }

  status(): GroupCommitStatus {
    return this.#group.status();
  }

  /** Refuses new events and resolves once every queued one has been committed (or failed). */
  close(): Promise<void> {
    return this.#group.close();
  }
}

export function createOutboxGroupCommit(options: OutboxGroupCommitOptions): OutboxGroupCommit {
  return new OutboxGroupCommit(options);
}
