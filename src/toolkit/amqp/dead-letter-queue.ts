// Reading a dead-letter queue (`<topic>.dlt`) without consuming it: its messages are fetched one by one with basic.get
// and left unacknowledged, so that closing the channel puts every one back, except those the caller acknowledges
// (a redrive acknowledges what it re-published, which takes them off the queue). A queue holds its messages in the
// order they were dead-lettered.

import type { Channel, GetMessage } from "amqplib";

import { ToolkitError, ToolkitErrorCode } from "../errors.js";
import type { ConsumerRecord } from "../kafka/consumer.js";
import type { AmqpClient } from "./client.js";
import { toConsumerRecordFromAmqp } from "./message.js";

/** The most messages one listing or redrive looks at; the rest of a longer queue waits for the next run. */
export const DEAD_LETTER_QUEUE_SCAN_MAX = 10_000;

export async function withDeadLetterQueue<T>(
  client: AmqpClient,
  deadLetterTopic: string,
  originalTopic: string,
  use: (records: ConsumerRecord[], acknowledge: (records: readonly ConsumerRecord[]) => void) => Promise<T>,
): Promise<T> {
  const connection = client.connection;
  const channel: Channel = await connection.channel();
  try {
    try {
      await connection.operation(channel, `checking queue ${deadLetterTopic}`, () =>
        channel.checkQueue(deadLetterTopic),
      );
    } catch (error) {
      throw new ToolkitError(
        ToolkitErrorCode.DEAD_LETTER_TOPIC_UNKNOWN,
        `there is no dead-letter queue "${deadLetterTopic}": no consumer of "${originalTopic}" has started against ` +
          "this RabbitMQ yet (consumers declare it), or the topic name is misspelt",
        { cause: error },
      );
    }
    const messages = new Map<ConsumerRecord, GetMessage>();
    const records: ConsumerRecord[] = [];
    while (records.length < DEAD_LETTER_QUEUE_SCAN_MAX) {
      const message = await connection.operation(channel, `reading queue ${deadLetterTopic}`, () =>
        channel.get(deadLetterTopic, { noAck: false }),
      );
      if (message === false) break;
      const record = toConsumerRecordFromAmqp(deadLetterTopic, message);
      // The position in this listing, since delivery tags change with every read.
      record.offset = String(records.length);
      messages.set(record, message);
      records.push(record);
    }
    return await use(records, (chosen) => {
      for (const record of chosen) {
        const message = messages.get(record);
        if (message !== undefined) channel.ack(message);
      }
    });
  } finally {
    // Closing hands back every message not acknowledged, in its place.
    await connection.closeChannel(channel);
  }
}
