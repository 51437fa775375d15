import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ErrorCode } from "../../../src/kafka/protocol/error-codes.js";
import type { Broker } from "../../../src/broker/broker.js";
import describeCluster, {
  ENDPOINT_TYPE_BROKERS,
  ENDPOINT_TYPE_CONTROLLERS,
} from "../../../src/broker/handlers/60-describe-cluster.js";
import { call, errorResponses, NODE_ID, openBroker, servedVersions } from "./admin-harness.js";

const LOWEST = 0;
const HIGHEST = 1;
const BOUND_PORT = 39092;

describe("DescribeCluster", () => {
  let broker: Broker;
  before(async () => {
    broker = await openBroker({ clusterId: "cluster-under-test", host: "127.0.0.1" });
    broker.setBoundPort(BOUND_PORT);
  });
  after(() => broker.close());

  test("serves versions 0 and 1", () => {
    assert.deepEqual(describeCluster.versions, [LOWEST, HIGHEST]);
  });

  test("answers this broker as the whole cluster and its controller, at v0 and v1", async () => {
    for (const version of [LOWEST, HIGHEST]) {
      const response = await call(broker, describeCluster, version, {
        includeClusterAuthorizedOperations: true,
        endpointType: ENDPOINT_TYPE_BROKERS,
      });
      assert.equal(response.errorCode, ErrorCode.NONE);
      assert.equal(response.errorMessage, null);
      assert.equal(response.clusterId, "cluster-under-test");
      assert.equal(response.controllerId, NODE_ID);
      assert.deepEqual(response.brokers, [{ brokerId: NODE_ID, host: "127.0.0.1", port: BOUND_PORT, rack: null }]);
      assert.equal(response.endpointType, ENDPOINT_TYPE_BROKERS);
      assert.equal(response.clusterAuthorizedOperations, -2147483648);
    }
  });

  test("the advertised address wins over the listening one", async () => {
    const advertised = await openBroker({ advertisedHost: "kafka.example", advertisedPort: 19092 });
    try {
      const response = await call(advertised, describeCluster, HIGHEST, {
        includeClusterAuthorizedOperations: false,
        endpointType: ENDPOINT_TYPE_BROKERS,
      });
      assert.deepEqual(response.brokers, [{ brokerId: NODE_ID, host: "kafka.example", port: 19092, rack: null }]);
    } finally {
      await advertised.close();
    }
  });

  test("v1 asking for controllers is MISMATCHED_ENDPOINT_TYPE; an unknown type is UNSUPPORTED_ENDPOINT_TYPE", async () => {
    const controllers = await call(broker, describeCluster, HIGHEST, {
      includeClusterAuthorizedOperations: false,
      endpointType: ENDPOINT_TYPE_CONTROLLERS,
    });
    assert.equal(controllers.errorCode, ErrorCode.MISMATCHED_ENDPOINT_TYPE);
    assert.ok(controllers.errorMessage);
    assert.deepEqual(controllers.brokers, []);
    const unknown = await call(broker, describeCluster, HIGHEST, {
      includeClusterAuthorizedOperations: false,
      endpointType: 9,
    });
    assert.equal(unknown.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
    assert.match(unknown.errorMessage!, /9/);
  });

  test("v0 has no endpoint type on the wire, so it always means brokers", async () => {
    const response = await call(broker, describeCluster, LOWEST, {
      includeClusterAuthorizedOperations: false,
      endpointType: ENDPOINT_TYPE_CONTROLLERS,
    });
    assert.equal(response.errorCode, ErrorCode.NONE);
    assert.equal(response.brokers.length, 1);
  });

  test("the error response encodes at every served version", () => {
    assert.deepEqual(servedVersions(describeCluster), [0, 1]);
    for (const { response } of errorResponses(
      describeCluster,
      { includeClusterAuthorizedOperations: false, endpointType: ENDPOINT_TYPE_BROKERS },
      7,
    )) {
      assert.equal(response.errorCode, 7);
      assert.deepEqual(response.brokers, []);
    }
  });
});
