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

  test("a transactional id is refused, since transactions are not supported", async () => {
    const response = await call(broker, initProducerId, FLEXIBLE_VERSION, {
      transactionalId: "orders-tx",
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    });
    assert.equal(response.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    assert.equal(response.producerId, -1);
  });
});
