// The example of docs/kafka-client.md: Sluice's own Kafka client administering a topic, producing to it, reading it
// back from an offset and from a time without a consumer group, and resetting a group's offsets. Run it with a
// broker at KAFKA_BROKERS (default 127.0.0.1:9092):
//   npx tsx examples/kafka-client.ts

import { pathToFileURL } from "node:url";

import { SluiceKafkaClient, type FetchedRecord } from "../src/kafka/client/index.js";

export async function tourOfTheClient(bootstrap: string): Promise<FetchedRecord[]> {
  // 1. One client holds the connections and the metadata cache; everything below shares them.
  const client = new SluiceKafkaClient({ bootstrapBrokers: [bootstrap], clientId: "kafka-client-example" });
  try {
    // 2. Admin: results are per topic, so one batch can partly succeed.
    const [created] = await client.admin.createTopics([
      { name: "payments", partitions: 3, configs: { "retention.ms": "86400000" } },
    ]);
    if (created!.error !== null && created!.error.errorName !== "TOPIC_ALREADY_EXISTS") throw created!.error;

    // 3. Produce one batch to one partition, durable (acks -1) by default.
    const { baseOffset } = await client.produce({
      topic: "payments",
      partition: 0,
      records: [
        { key: "p-1", value: JSON.stringify({ cents: 1200 }), headers: [{ key: "source", value: "example" }] },
        { key: "p-2", value: JSON.stringify({ cents: 300 }) },
      ],
    });

    // 4. Read from any offset, without a consumer group: one fetch, long-polling up to maxWaitMs.
    const [partition] = await client.fetch([{ topic: "payments", partition: 0, offset: baseOffset }], {
      maxWaitMs: 100,
    });

    // 5. Or follow partitions from an offset, the earliest or latest offset, or a time.
    const reader = client.reader({
      maxWaitMs: 100,
      partitions: [
        { topic: "payments", partition: 0, from: { timestamp: Date.now() - 60_000 } },
        { topic: "payments", partition: 1, from: "earliest" },
      ],
    });
    const followed = await reader.read();
    reader.close();

    // 6. Move a group's committed offsets from outside the group (it must have no members).
    await client.admin.commitGroupOffsets("payment-auditors", [{ topic: "payments", partition: 0, offset: 0 }]);
    const committed = await client.admin.fetchGroupOffsets("payment-auditors");
    console.log(`payment-auditors starts partition 0 at offset ${committed[0]!.offset}`);

    // 7. Or read as a member of the group: its members share the partitions, each starts at the committed offset,
    //    and what a batch commits is where the group goes on after a restart or a rebalance.
    const auditor = client.groupConsumer({ groupId: "payment-auditors", topics: ["payments"], resetTo: "earliest" });
    let audited = 0;
    let caughtUp: () => void = () => undefined;
    const allAudited = new Promise<void>((resolve) => (caughtUp = resolve));
    await auditor.start({
      eachBatch: async (batch) => {
        for (const record of batch.records) batch.markDone(record.offset);
        await batch.commit(batch.records.at(-1)!.offset + 1);
        audited += batch.records.length;
        if (audited >= 2) caughtUp();
      },
    });
    await allAudited;
    await auditor.stop();

    return [...partition!.records, ...followed];
  } finally {
    await client.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const records = await tourOfTheClient(process.env.KAFKA_BROKERS?.split(",")[0] ?? "127.0.0.1:9092");
  for (const record of records) {
    console.log(
      `${record.topic}-${record.partition}@${record.offset} ${record.key?.toString()} ${record.value?.toString()}`,
    );
  }
}
