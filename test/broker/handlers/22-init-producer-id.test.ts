import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import type { Broker } from "../../../src/broker/broker.js";
import initProducerId from "../../../src/broker/handlers/22-init-producer-id.js";
import { call, openBroker, servedVersions } from "./admin-harness.js";

const FLEXIBLE_VERSION = 4;

describe("InitProducerId", () => {
  let broker: Broker;
  before(async () => {
    broker = await openBroker();
  });
  after(() => broker.close());

  test("a fresh producer gets a new id at epoch 0 at every version", async () => {
    const seen = new Set<number>();
    for (const version of servedVersions(initProducerId)) {
      const response = await call(broker, initProducerId, version, {
        transactionalId: null,
        transactionTimeoutMs: -1,
        producerId: -1,
        producerEpoch: -1,
      });
      assert.equal(response.errorCode, ErrorCode.NONE);
      assert.equal(response.producerEpoch, 0);
      const producerId = response.producerId ?? -1;
      assert.ok(producerId >= 0, `v${version} answered producer id ${producerId}`);
      assert.ok(!seen.has(producerId), `v${version} reused producer id ${producerId}`);
      seen.add(producerId);
    }
  });

  test("placeholder ids get fresh producers; a producer sending back its own id and epoch gets the epoch bumped", async () => {
    // @platformatic/kafka initialises every idempotent producer with id 0 and epoch 0; id 0 is never handed out, so
    // two such producers get distinct ids instead of one fencing the other.
    const request = { transactionalId: null, transactionTimeoutMs: 60_000, producerId: 0, producerEpoch: 0 };
    const first = await call(broker, initProducerId, FLEXIBLE_VERSION, request);
    const second = await call(broker, initProducerId, FLEXIBLE_VERSION, request);
    assert.equal(first.errorCode, ErrorCode.NONE);
    assert.ok((first.producerId ?? -1) > 0);
    assert.notEqual(second.producerId, first.producerId);
    assert.equal(second.producerEpoch, 0);
    // KIP-360: librdkafka recovers from a sequence error by sending back the id and epoch it holds.
    const bumped = await call(broker, initProducerId, FLEXIBLE_VERSION, {
      ...request,
      producerId: first.producerId ?? -1,
      producerEpoch: first.producerEpoch,
    });
    assert.equal(bumped.producerId, first.producerId);
    assert.equal(bumped.producerEpoch, 1);
    const stale = await call(broker, initProducerId, FLEXIBLE_VERSION, {
      ...request,
      producerId: first.producerId ?? -1,
      producerEpoch: 0,
    });
    assert.notEqual(stale.producerId, first.producerId, "a stale epoch does not bump again; it gets a fresh id");
  });

  test("a transactional id keeps its producer id; each new instance bumps the epoch and older ones are fenced", async () => {
    const init = (version: number, producerId = -1, producerEpoch = -1) =>
      call(broker, initProducerId, version, {
        transactionalId: "orders-tx",
        transactionTimeoutMs: 60_000,
        producerId,
        producerEpoch,
      });
    const first = await init(FLEXIBLE_VERSION);
    assert.equal(first.errorCode, ErrorCode.NONE);
    assert.equal(first.producerEpoch, 0);
    const second = await init(FLEXIBLE_VERSION);
    assert.deepEqual([second.producerId, second.producerEpoch], [first.producerId, 1]);
    // The first instance, naming the id and epoch it held, is told it was fenced (v4) or its epoch is stale (v3).
    const zombie = await init(FLEXIBLE_VERSION, first.producerId, 0);
    assert.equal(zombie.errorCode, ErrorCode.PRODUCER_FENCED);
    const olderZombie = await init(3, first.producerId, 0);
    assert.equal(olderZombie.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  test("a transaction timeout above transaction.max.timeout.ms or an empty transactional id is refused", async () => {
    const tooLong = await call(broker, initProducerId, FLEXIBLE_VERSION, {
      transactionalId: "slow-tx",
      transactionTimeoutMs: broker.config.transactionMaxTimeoutMs + 1,
      producerId: -1,
      producerEpoch: -1,
    });
    assert.equal(tooLong.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    const empty = await call(broker, initProducerId, FLEXIBLE_VERSION, {
      transactionalId: "",
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    });
    assert.equal(empty.errorCode, ErrorCode.INVALID_REQUEST);
  });
});
