// The transaction APIs through the codec, as a client sends them: Kafka's error codes for each misuse, the last
// stable offset in Fetch and ListOffsets, the aborted-transaction list, offsets held until commit, and the state a
// restart keeps (aborted lists) or finishes (a transaction left open is aborted).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Broker } from "../../../src/broker/broker.js";
import produce from "../../../src/broker/handlers/00-produce.js";
import fetch from "../../../src/broker/handlers/01-fetch.js";
import listOffsets from "../../../src/broker/handlers/02-list-offsets.js";
import initProducerId from "../../../src/broker/handlers/22-init-producer-id.js";
import addPartitionsToTxn from "../../../src/broker/handlers/24-add-partitions-to-txn.js";
import addOffsetsToTxn from "../../../src/broker/handlers/25-add-offsets-to-txn.js";
import endTxn from "../../../src/broker/handlers/26-end-txn.js";
import txnOffsetCommit from "../../../src/broker/handlers/28-txn-offset-commit.js";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import { buildRecordBatch, isControlBatch, iterateBatches } from "../../../src/kafka/protocol/record-batch.js";
import { TXN_GROUPS_MAX } from "../../../src/broker/txn/coordinator.js";
import { call, openBroker, tempDir } from "./admin-harness.js";

const READ_COMMITTED = 1;
const READ_UNCOMMITTED = 0;

interface Producer {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  sequence: number;
}

async function init(broker: Broker, transactionalId: string): Promise<Producer> {
  const response = await call(broker, initProducerId, 4, {
    transactionalId,
    transactionTimeoutMs: 60_000,
    producerId: -1,
    producerEpoch: -1,
  });
  assert.equal(response.errorCode, ErrorCode.NONE);
  return { transactionalId, producerId: response.producerId ?? -1, producerEpoch: response.producerEpoch, sequence: 0 };
}

async function addPartitions(broker: Broker, producer: Producer, topic: string, partitions: number[], version = 3) {
  const response = await call(broker, addPartitionsToTxn, version, {
    transactions: [],
    v3AndBelowTransactionalId: producer.transactionalId,
    v3AndBelowProducerId: producer.producerId,
    v3AndBelowProducerEpoch: producer.producerEpoch,
    v3AndBelowTopics: [{ name: topic, partitions }],
  });
  return response.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode));
}

async function send(broker: Broker, producer: Producer, topic: string, values: string[]): Promise<number> {
  const records = buildRecordBatch({
    records: values.map((value) => ({ value })),
    producerId: producer.producerId,
    producerEpoch: producer.producerEpoch,
    baseSequence: producer.sequence,
    transactional: true,
  });
  const response = await call(broker, produce, 9, {
    transactionalId: producer.transactionalId,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  const result = response.responses[0]!.partitionResponses[0]!;
  if (result.errorCode === ErrorCode.NONE) producer.sequence += values.length;
  return result.errorCode;
}

async function end(broker: Broker, producer: Producer, committed: boolean, version = 3): Promise<number> {
  const response = await call(broker, endTxn, version, {
    transactionalId: producer.transactionalId,
    producerId: producer.producerId,
    producerEpoch: producer.producerEpoch,
    committed,
  });
  return response.errorCode;
}

async function latest(broker: Broker, topic: string, isolationLevel: number): Promise<number> {
  const response = await call(broker, listOffsets, 6, {
    replicaId: -1,
    isolationLevel,
    timeoutMs: 0,
    topics: [
      { name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] },
    ],
  });
  return response.topics[0]!.partitions[0]!.offset!;
}

async function read(broker: Broker, topic: string, isolationLevel: number) {
  const response = await call(broker, fetch, 12, {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1 },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1024 * 1024,
    isolationLevel,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        topicId: Buffer.alloc(16),
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: 0,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: 1024 * 1024,
            replicaDirectoryId: Buffer.alloc(16),
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: "",
  });
  const partition = response.responses[0]!.partitions[0]!;
  const batches = [...iterateBatches(partition.records ?? Buffer.alloc(0))];
  return {
    lastStableOffset: partition.lastStableOffset,
    abortedTransactions: partition.abortedTransactions,
    dataBatches: batches.filter((b) => !isControlBatch(b.header)).length,
    markers: batches.filter((b) => isControlBatch(b.header)).length,
  };
}

describe("transactions through the handlers", () => {
  let broker: Broker;
  before(async () => {
    broker = await openBroker();
    for (const name of ["orders", "ledger", "offsets-in"]) broker.topics.create(name, 1, new Map());
  });
  after(() => broker.close());

  test("a transactional batch needs its partition in the transaction and holds back the last stable offset", async () => {
    const producer = await init(broker, "writer");
    assert.equal(await send(broker, producer, "orders", ["too early"]), ErrorCode.INVALID_TXN_STATE);
    assert.deepEqual(await addPartitions(broker, producer, "orders", [0]), [ErrorCode.NONE]);
    assert.equal(await send(broker, producer, "orders", ["a", "b"]), ErrorCode.NONE);
    assert.equal(await latest(broker, "orders", READ_UNCOMMITTED), 2);
    assert.equal(await latest(broker, "orders", READ_COMMITTED), 0, "read_committed's latest is the LSO");
    const open = await read(broker, "orders", READ_COMMITTED);
    assert.deepEqual([open.lastStableOffset, open.dataBatches], [0, 0]);
    assert.equal((await read(broker, "orders", READ_UNCOMMITTED)).dataBatches, 1);

    assert.equal(await end(broker, producer, false), ErrorCode.NONE);
    const aborted = await read(broker, "orders", READ_COMMITTED);
    assert.equal(aborted.lastStableOffset, 3, "the abort marker took offset 2");
    assert.deepEqual(aborted.abortedTransactions, [{ producerId: producer.producerId, firstOffset: 0 }]);
    assert.deepEqual([aborted.dataBatches, aborted.markers], [1, 1]);
    assert.equal(await latest(broker, "orders", READ_COMMITTED), 3);
    assert.equal(await end(broker, producer, false), ErrorCode.NONE, "a retried EndTxn of the same outcome succeeds");
    assert.equal(await end(broker, producer, true), ErrorCode.INVALID_TXN_STATE, "nothing is open to commit");
  });

  test("a fenced producer is refused with the error its request version knows", async () => {
    const zombie = await init(broker, "fenced");
    assert.deepEqual(await addPartitions(broker, zombie, "ledger", [0]), [ErrorCode.NONE]);
    assert.equal(await send(broker, zombie, "ledger", ["zombie"]), ErrorCode.NONE);
    const successor = await init(broker, "fenced");
    assert.equal(successor.producerId, zombie.producerId);
    assert.equal(successor.producerEpoch, zombie.producerEpoch + 1);
    assert.equal(await send(broker, zombie, "ledger", ["again"]), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.deepEqual(await addPartitions(broker, zombie, "ledger", [0], 2), [ErrorCode.PRODUCER_FENCED]);
    assert.deepEqual(await addPartitions(broker, zombie, "ledger", [0], 1), [ErrorCode.INVALID_PRODUCER_EPOCH]);
    assert.equal(await end(broker, zombie, true), ErrorCode.PRODUCER_FENCED);
    // The zombie's open transaction was aborted when the successor started.
    const seen = await read(broker, "ledger", READ_COMMITTED);
    assert.deepEqual(seen.abortedTransactions, [{ producerId: zombie.producerId, firstOffset: 0 }]);

    const stranger = { ...successor, producerId: successor.producerId + 1000 };
    assert.deepEqual(await addPartitions(broker, stranger, "ledger", [0]), [ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
    assert.deepEqual(await addPartitions(broker, successor, "ledger", [0, 5]), [
      ErrorCode.OPERATION_NOT_ATTEMPTED,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
  });

  test("offsets sent to a transaction are committed only when it commits", async () => {
    const producer = await init(broker, "transformer");
    const commitOffsets = (offset: number) =>
      call(broker, txnOffsetCommit, 3, {
        transactionalId: producer.transactionalId,
        groupId: "transformers",
        producerId: producer.producerId,
        producerEpoch: producer.producerEpoch,
        generationId: -1,
        memberId: "",
        groupInstanceId: null,
        topics: [
          {
            name: "offsets-in",
            partitions: [
              { partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null },
            ],
          },
        ],
      }).then((response) => response.topics[0]!.partitions[0]!.errorCode);
    const committed = () =>
      broker.groups.fetchOffsets("transformers", [{ topic: "offsets-in", partitions: [0] }]).topics[0]!.partitions[0]!
        .offset;
    const addOffsets = () =>
      call(broker, addOffsetsToTxn, 3, {
        transactionalId: producer.transactionalId,
        producerId: producer.producerId,
        producerEpoch: producer.producerEpoch,
        groupId: "transformers",
      }).then((response) => response.errorCode);

    assert.equal(await commitOffsets(5), ErrorCode.INVALID_TXN_STATE, "the group was not added with AddOffsetsToTxn");
    assert.equal(await addOffsets(), ErrorCode.NONE);
    assert.equal(await commitOffsets(5), ErrorCode.NONE);
    assert.equal(committed(), -1, "not visible before the commit");
    assert.equal(await end(broker, producer, false), ErrorCode.NONE);
    assert.equal(committed(), -1, "dropped by the abort");
    assert.equal(await addOffsets(), ErrorCode.NONE);
    assert.equal(await commitOffsets(7), ErrorCode.NONE);
    assert.equal(await end(broker, producer, true), ErrorCode.NONE);
    assert.equal(committed(), 7);
  });
});

test("a restart keeps the aborted lists and aborts a transaction left open", async () => {
  const dir = tempDir();
  try {
    let broker = await openBroker({ dataDir: dir.path });
    broker.topics.create("kept", 1, new Map());
    const producer = await init(broker, "restarting");
    await addPartitions(broker, producer, "kept", [0]);
    assert.equal(await send(broker, producer, "kept", ["aborted"]), ErrorCode.NONE);
    assert.equal(await end(broker, producer, false), ErrorCode.NONE);
    await addPartitions(broker, producer, "kept", [0]);
    assert.equal(await send(broker, producer, "kept", ["left open"]), ErrorCode.NONE);
    await broker.close();

    broker = await openBroker({ dataDir: dir.path });
    try {
      const txn = broker.txns.get("restarting")!;
      assert.deepEqual([txn.state, txn.producerEpoch], ["CompleteAbort", producer.producerEpoch + 1]);
      const seen = await read(broker, "kept", READ_COMMITTED);
      assert.deepEqual(seen.abortedTransactions, [
        { producerId: producer.producerId, firstOffset: 0 },
        { producerId: producer.producerId, firstOffset: 2 },
      ]);
      assert.equal(seen.lastStableOffset, 4, "both transactions are closed by markers");
      assert.equal(await send(broker, producer, "kept", ["stale"]), ErrorCode.INVALID_PRODUCER_EPOCH);
    } finally {
      await broker.close();
    }
  } finally {
    dir.remove();
  }
});

test("a transaction holds at most TXN_GROUPS_MAX consumer groups; the next is refused, one already added is not", async () => {
  const broker = await openBroker();
  try {
    const producer = await init(broker, "many-groups");
    const addOffsets = (groupId: string) =>
      call(broker, addOffsetsToTxn, 3, {
        transactionalId: producer.transactionalId,
        producerId: producer.producerId,
        producerEpoch: producer.producerEpoch,
        groupId,
      });
    for (let index = 0; index < TXN_GROUPS_MAX; index++) {
      assert.equal((await addOffsets(`group-${index}`)).errorCode, ErrorCode.NONE);
    }
    assert.equal((await addOffsets("group-0")).errorCode, ErrorCode.NONE, "a group already in the transaction");
    const refused = await addOffsets("one-too-many");
    assert.equal(refused.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(await end(broker, producer, false), ErrorCode.NONE, "the transaction still ends");
  } finally {
    await broker.close();
  }
});
