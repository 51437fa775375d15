// The end-to-end bench's Kafka clients: one per client library under the toolkit, and the two ways it reads a topic
// (the toolkit's group consumer, or its partition reader).

import { createKafkaClient, type KafkaClientLibrary } from "../src/toolkit/kafka/connection.js";
import type { ConsumerRecord } from "../src/toolkit/kafka/consumer.js";
import { createPartitionReader } from "../src/toolkit/kafka/reader.js";

export type ConsumerKind = "group" | "reader";

export function clientFor(library: KafkaClientLibrary, address: string) {
  return createKafkaClient({ brokers: [address], clientId: `bench-e2e-${library}`, library, env: {} });
}

/**
 * Hands every record of the topic, from its start, to onRecords until stopped: through the toolkit's group consumer
 * on the chosen client, or (--consumer reader, Sluice's client only) through the toolkit's partition reader.
 */
export async function follow(
  consumerKind: ConsumerKind,
  library: KafkaClientLibrary,
  client: ReturnType<typeof clientFor>,
  topic: string,
  fetchWaitMs: number,
  onRecords: (records: readonly ConsumerRecord[]) => void,
): Promise<() => Promise<void>> {
  if (consumerKind === "reader") {
    if (library !== "sluice") throw new Error("--consumer reader reads with Sluice's client only: add --client sluice");
    const reader = createPartitionReader(client, {
      partitions: [{ topic, partition: 0, from: "earliest" }],
      fetchWaitMs,
      fetchBytesMax: 50 * 1024 * 1024,
    });
    let stopped = false;
    const loop = (async () => {
      try {
        while (!stopped) onRecords(await reader.read());
      } catch (error) {
        // Closing the reader fails the read in progress; any other failure is the run's.
        if (!stopped) throw error;
      }
    })();
    loop.catch(() => undefined);
    return async () => {
      stopped = true;
      await reader.close();
      await loop;
    };
  }
  const consumer = client.consumer({
    groupId: `bench-e2e-${topic}`,
    fetchWaitMs,
    fetchBytesMax: 50 * 1024 * 1024,
  });
  let joined: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (joined = resolve));
  consumer.onJoin(() => joined());
  await consumer.start({
    topics: [topic],
    fromBeginning: true,
    concurrency: 1,
    eachBatch: async (batch) => {
      onRecords(batch.records);
      const last = batch.records.at(-1);
      if (last !== undefined) batch.markDone(last.offset);
    },
  });
  await ready;
  return () => consumer.stop();
}
