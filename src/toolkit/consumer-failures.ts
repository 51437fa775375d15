// The consumer's failure router: where an event goes after its handler failed (the retry topic of its next attempt,
// or its dead-letter topic after the last attempt or a non-retriable error), and where a record that cannot be read
// goes (the dead-letter topic at once). retry.ts and dead-letter.ts define the topics and their headers.

import type { ResolvedConsumer } from "./consumer-options.js";
import type { Origin } from "./consumer-records.js";
import { DEAD_LETTER_HEADERS, deadLetterHeaders, deadLetterTopicName, type DeadLetterReason } from "./dead-letter.js";
import { EventValidationError, PublishError, ToolkitError, ToolkitErrorCode } from "./errors.js";
import { EVENT_HEADERS } from "./event.js";
import type { ConsumerRecord } from "./kafka/consumer.js";
import type { KafkaProducer, ProducerRecord } from "./kafka/producer.js";
import { backoffDelayMs, errorSummary, NonRetriableError, retryHeaders, retryTierOf, retryTopicName } from "./retry.js";

/** The code a dead letter records: the toolkit error's own, or SLUICE_HANDLER_FAILED for any other error. */
function errorCodeOf(error: Error): string {
  return error instanceof ToolkitError ? error.code : ToolkitErrorCode.HANDLER_FAILED;
}

/** An event that failed or cannot be read: its record, its headers without retry headers, its id and origin. */
export interface FailedEvent {
  record: ConsumerRecord;
  headers: Record<string, string>;
  eventId: string;
  origin: Origin;
  error: Error;
}

export class FailureRouter {
  readonly #consumer: ResolvedConsumer;
  readonly #producer: () => KafkaProducer;
  /** Partition counts of the retry and dead-letter topics, filled when the consumer sets its topics up. */
  readonly #partitionCounts: ReadonlyMap<string, number>;

  constructor(consumer: ResolvedConsumer, producer: () => KafkaProducer, partitionCounts: ReadonlyMap<string, number>) {
    this.#consumer = consumer;
    this.#producer = producer;
    this.#partitionCounts = partitionCounts;
  }

  /** Routes a failed event: its next attempt through a retry topic while attempts are left, else a dead letter. */
  async routeFailure(failed: FailedEvent): Promise<void> {
    if (this.isRetriable(failed.error) && failed.origin.attempt < this.#consumer.policy.attempts) {
      await this.#scheduleRetry(failed);
    } else {
      await this.deadLetter(failed, failed.origin.attempt);
    }
  }

  /** Whether a failed event is worth another attempt: NonRetriableError and EventValidationError never are. */
  isRetriable(error: Error): boolean {
    const { isRetriableOption, logger, groupId } = this.#consumer;
    if (error instanceof NonRetriableError || error instanceof EventValidationError) return false;
    if (isRetriableOption === undefined) return true;
    try {
      return isRetriableOption(error);
    } catch (predicateError) {
      logger.warn({ err: predicateError }, `consumer group ${groupId}: isRetriable threw; retrying as if it said yes`);
      return true;
    }
  }

  /** The partition to pin a republished record to: the original's, when the target topic has that partition. */
  #pinnedPartition(topic: string, partition: number): number | undefined {
    const count = this.#partitionCounts.get(topic);
    return count !== undefined && partition < count ? partition : undefined;
  }

  /** Sends an event to its topic's dead-letter topic, with why and from where; parks it without its value if refused. */
  async deadLetter(failed: FailedEvent, attempts: number): Promise<void> {
    const { record, headers, eventId, origin, error } = failed;
    const { groupId, metrics, logger } = this.#consumer;
    const reason: DeadLetterReason = {
      originalTopic: origin.topic,
      originalPartition: origin.partition,
      originalOffset: origin.offset,
      error: errorSummary(error),
      errorCode: errorCodeOf(error),
      attempts,
      time: new Date(),
      consumerGroup: groupId,
    };
    const topic = deadLetterTopicName(origin.topic);
    const letter: ProducerRecord = {
      topic,
      key: record.key,
      value: record.value,
      headers: deadLetterHeaders(headers, eventId, reason),
      partition: this.#pinnedPartition(topic, origin.partition),
    };
    try {
      await this.#producer().send([letter]);
    } catch (error) {
      if (!(error instanceof PublishError) || error.retriable) throw error;
      // The broker refuses the dead letter itself, most likely because the added headers made it too large. It is
      // parked without its value, which stays readable at its original position, rather than blocking the partition.
      const refusal = errorSummary(error);
      await this.#producer().send([
        { ...letter, value: null, headers: { ...letter.headers, [DEAD_LETTER_HEADERS.valueDropped]: refusal } },
      ]);
    }
    metrics.deadLettered.inc({ topic: origin.topic, group: groupId, code: reason.errorCode });
    logger.warn(
      { topic: origin.topic, partition: origin.partition, offset: origin.offset, eventId, attempts, err: error },
      `event ${eventId} went to the dead-letter topic ${topic}: ${reason.error}`,
    );
  }

  /** Sends a failed event to the retry topic of its next attempt; dead-letters it when the retry topic refuses it. */
  async #scheduleRetry(failed: FailedEvent): Promise<void> {
    const { record, headers, eventId, origin, error } = failed;
    const { policy, random, groupId, metrics, logger } = this.#consumer;
    const delayMs = backoffDelayMs(policy, origin.attempt, random);
    const topic = retryTopicName(origin.topic, retryTierOf(policy, origin.attempt));
    const envelope = {
      attempt: origin.attempt + 1,
      dueTimeMs: Date.now() + delayMs,
      group: groupId,
      originalTopic: origin.topic,
      originalPartition: origin.partition,
      originalOffset: origin.offset,
      error: errorSummary(error),
    };
    try {
      await this.#producer().send([
        {
          topic,
          key: record.key,
          value: record.value,
          headers: { ...headers, [EVENT_HEADERS.id]: eventId, ...retryHeaders(envelope) },
          partition: this.#pinnedPartition(topic, origin.partition),
        },
      ]);
    } catch (sendError) {
      if (!(sendError instanceof PublishError) || sendError.retriable) throw sendError;
      // The retry topic refuses the record for good (too large with the retry headers, say): retrying cannot work.
      await this.deadLetter(failed, origin.attempt);
      return;
    }
    metrics.retried.inc({ topic: origin.topic, group: groupId });
    logger.info(
      {
        topic: origin.topic,
        partition: origin.partition,
        offset: origin.offset,
        eventId,
        attempt: origin.attempt,
        delayMs,
      },
      `event ${eventId} failed attempt ${origin.attempt} of ${policy.attempts} (${envelope.error}); retrying in ` +
        `${delayMs} ms through ${topic}`,
    );
  }
}
