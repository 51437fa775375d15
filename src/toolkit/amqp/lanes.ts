// What lets one AMQP consumer handle a queue's messages in parallel while keeping each key's order: lanes and
// out-of-order acknowledgements. A queue's deliveries are split over `concurrency` lanes by key (a key always lands
// in the same lane, keyless messages are spread by delivery tag), and each lane is handed to the pipeline as a
// partition of its own, one batch at a time, in delivery order. Lanes finish out of delivery order, so a cumulative
// ack of the highest tag done could acknowledge a message another lane is still handling: DeliveryAcks acknowledges
// the longest run of finished messages at the head with one cumulative ack. Messages finished beyond a gap wait for
// it to close (one ack then covers them too, which costs RabbitMQ far less than an ack each), unless so many wait
// that they would hold up deliveries (the prefetch limit counts them): then they are acknowledged one by one.

import { InvalidArgumentError } from "../errors.js";

/** The lane of a message: by an FNV-1a hash of its key, or by its delivery tag when it has none. */
export function laneOf(key: Buffer | null, deliveryTag: number, lanes: number): number {
  if (lanes <= 1) return 0;
  if (key === null) return deliveryTag % lanes;
  let hash = 0x811c9dc5;
  for (const byte of key) hash = Math.imul(hash ^ byte, 0x01000193);
  return (hash >>> 0) % lanes;
}

/** The acknowledgements to send for finished messages: one cumulative (through, inclusive) and single ones. */
export interface AckPlan {
  through: number | null;
  singles: number[];
}

/**
 * The delivery tags of one channel not yet acknowledged, in delivery order (a Map keeps insertion order), each with
 * whether its message is finished. At most the channel's prefetch count of them exist at once.
 */
export class DeliveryAcks {
  readonly #outstanding = new Map<number, boolean>();
  readonly #heldMax: number;
  /** Finished messages not yet acknowledged because an earlier one is not finished. */
  #held = 0;

  /** heldMax: how many finished messages may wait behind an unfinished one before they are acknowledged singly. */
  constructor(heldMax: number) {
    this.#heldMax = Math.max(0, Math.floor(heldMax));
  }

  get size(): number {
    return this.#outstanding.size;
  }

  delivered(deliveryTag: number): void {
    if (!Number.isSafeInteger(deliveryTag) || deliveryTag < 1) {
      throw new InvalidArgumentError("deliveryTag", `must be a positive integer, not ${deliveryTag}`);
    }
    this.#outstanding.set(deliveryTag, false);
  }

  /** Marks messages finished and says which acks to send; tags unknown or already acknowledged are ignored. */
  finish(deliveryTags: readonly number[]): AckPlan {
    for (const tag of deliveryTags) {
      if (this.#outstanding.get(tag) !== false) continue;
      this.#outstanding.set(tag, true);
      this.#held += 1;
    }
    let through: number | null = null;
    for (const [tag, finished] of this.#outstanding) {
      if (!finished) break;
      through = tag;
      this.#outstanding.delete(tag);
      this.#held -= 1;
    }
    const singles: number[] = [];
    if (this.#held > this.#heldMax) {
      for (const [tag, finished] of this.#outstanding) {
        if (finished) singles.push(tag);
      }
      for (const tag of singles) this.#outstanding.delete(tag);
      this.#held = 0;
    }
    return { through, singles };
  }
}
