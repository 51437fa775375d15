// Dead letters: events a consumer gave up on, parked in `<topic>.dlt` with headers saying where they came from and
// why they failed, so that someone can see them (`sluice dlt list`) and send them back (`sluice dlt redrive`).
// A dead letter keeps the original key, value and headers byte for byte, event id included.

import { EVENT_HEADERS } from "./event.js";
import { ToolkitError, ToolkitErrorCode } from "./errors.js";
import { RETRY_ERROR_CHARS_MAX, RETRY_HEADER_PREFIX } from "./retry.js";

export const DEAD_LETTER_TOPIC_SUFFIX = ".dlt";
export const DEAD_LETTER_HEADER_PREFIX = "sluice-dlt-";

export const DEAD_LETTER_HEADERS = {
  originalTopic: "sluice-dlt-original-topic",
  originalPartition: "sluice-dlt-original-partition",
  originalOffset: "sluice-dlt-original-offset",
  /** The last failure, one line. */
  error: "sluice-dlt-error",
  /** A stable code for the failure, such as SLUICE_EVENT_INVALID or SLUICE_HANDLER_FAILED. */
  errorCode: "sluice-dlt-error-code",
  /** Handler attempts made; 0 when the event never reached the handler (it could not be read). */
  attempts: "sluice-dlt-attempts",
  /** When the event was dead-lettered, ISO 8601. */
  time: "sluice-dlt-time",
  consumerGroup: "sluice-dlt-consumer-group",
  /**
   * Present when the broker refused the dead letter with its value (too large once the headers were added): the
   * value was left out, and is still at the original topic, partition and offset. Holds the broker's refusal.
   */
  valueDropped: "sluice-dlt-value-dropped",
} as const;

export function deadLetterTopicName(topic: string): string {
  return `${topic}${DEAD_LETTER_TOPIC_SUFFIX}`;
}

/** Why and from where an event was dead-lettered. */
export interface DeadLetterReason {
  originalTopic: string;
  originalPartition: number;
  originalOffset: string;
  error: string;
  errorCode: string;
  attempts: number;
  time: Date;
  consumerGroup: string;
}

/** A record read back from a dead-letter topic. */
export interface DeadLetter extends DeadLetterReason {
  /** The event id, from the sluice-event-id header. */
  eventId: string;
  key: Buffer | null;
  value: Buffer | null;
  /** The event's headers as they were on the original topic, without the dead-letter and retry bookkeeping. */
  headers: Record<string, string>;
  /** Why the value was left out of the dead letter (see DEAD_LETTER_HEADERS.valueDropped), or null when it is kept. */
  valueDropped: string | null;
  /** Where the dead letter itself sits. */
  deadLetterPartition: number;
  deadLetterOffset: string;
}

/** The headers without the toolkit's dead-letter and retry bookkeeping: what the original event carried. */
export function originalHeadersOf(headers: Readonly<Record<string, string>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(DEAD_LETTER_HEADER_PREFIX) && !name.startsWith(RETRY_HEADER_PREFIX)) result[name] = value;
  }
  return result;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length <= RETRY_ERROR_CHARS_MAX ? line : `${line.slice(0, RETRY_ERROR_CHARS_MAX - 1)}…`;
}

/** The headers of a dead letter: the event's own (with its event id) and the reason. */
export function deadLetterHeaders(
  eventHeaders: Readonly<Record<string, string>>,
  eventId: string,
  reason: DeadLetterReason,
): Record<string, string> {
  return {
    ...originalHeadersOf(eventHeaders),
    [EVENT_HEADERS.id]: eventId,
    [DEAD_LETTER_HEADERS.originalTopic]: reason.originalTopic,
    [DEAD_LETTER_HEADERS.originalPartition]: String(reason.originalPartition),
    [DEAD_LETTER_HEADERS.originalOffset]: reason.originalOffset,
    [DEAD_LETTER_HEADERS.error]: oneLine(reason.error),
    [DEAD_LETTER_HEADERS.errorCode]: reason.errorCode,
    [DEAD_LETTER_HEADERS.attempts]: String(reason.attempts),
    [DEAD_LETTER_HEADERS.time]: reason.time.toISOString(),
    [DEAD_LETTER_HEADERS.consumerGroup]: reason.consumerGroup,
  };
}

function invalid(topic: string, partition: number, offset: string, problem: string): ToolkitError {
  return new ToolkitError(
    ToolkitErrorCode.DEAD_LETTER_INVALID,
    `record ${offset} in partition ${partition} of "${topic}" is not a dead letter: ${problem}; only the toolkit's ` +
      "consumer should write to dead-letter topics",
  );
}

/** A record as read from a dead-letter topic. */
export interface DeadLetterRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Readonly<Record<string, string>>;
}

/** Reads a dead letter's reason and original event from a record; throws ToolkitError when the headers are wrong. */
export function parseDeadLetter(record: DeadLetterRecord): DeadLetter {
  const { headers } = record;
  const required = (name: string): string => {
    const value = headers[name];
    if (value === undefined || value === "") throw invalid(record.topic, record.partition, record.offset, `no ${name}`);
    return value;
  };
  const integer = (name: string): number => {
    const raw = required(name);
    if (!/^[0-9]{1,9}$/.test(raw)) {
      throw invalid(record.topic, record.partition, record.offset, `${name} is "${raw}", not a number`);
    }
    return Number(raw);
  };
  const originalOffset = required(DEAD_LETTER_HEADERS.originalOffset);
  if (!/^[0-9]{1,19}$/.test(originalOffset)) {
    throw invalid(
      record.topic,
      record.partition,
      record.offset,
      `${DEAD_LETTER_HEADERS.originalOffset} is not an offset`,
    );
  }
  const time = new Date(required(DEAD_LETTER_HEADERS.time));
  if (Number.isNaN(time.getTime())) {
    throw invalid(record.topic, record.partition, record.offset, `${DEAD_LETTER_HEADERS.time} is not a time`);
  }
  return {
    eventId: required(EVENT_HEADERS.id),
    originalTopic: required(DEAD_LETTER_HEADERS.originalTopic),
    originalPartition: integer(DEAD_LETTER_HEADERS.originalPartition),
    originalOffset,
    error: headers[DEAD_LETTER_HEADERS.error] ?? "",
    errorCode: headers[DEAD_LETTER_HEADERS.errorCode] ?? ToolkitErrorCode.HANDLER_FAILED,
    attempts: integer(DEAD_LETTER_HEADERS.attempts),
    time,
    consumerGroup: headers[DEAD_LETTER_HEADERS.consumerGroup] ?? "",
    key: record.key,
    value: record.value,
    headers: originalHeadersOf(headers),
    valueDropped: headers[DEAD_LETTER_HEADERS.valueDropped] ?? null,
    deadLetterPartition: record.partition,
    deadLetterOffset: record.offset,
  };
}
