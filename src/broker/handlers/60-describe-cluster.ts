// DescribeCluster (key 60), versions 0–1. Answers with this one broker as the whole cluster and as its controller.
// Only the brokers endpoint type (1) is served: asking a broker for controllers (2) is MISMATCHED_ENDPOINT_TYPE, as
// Kafka answers it, and any other type is UNSUPPORTED_ENDPOINT_TYPE.
// Leaves out: racks (always null) and authorized operations (always "not provided": Sluice has no ACLs).

import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  DescribeClusterRequestSchema,
  DescribeClusterResponseSchema,
  type DescribeClusterRequest,
  type DescribeClusterResponse,
} from "../../kafka/protocol/messages/index.js";
import { defineHandler } from "./handler.js";

/** Kafka's marker for "authorized operations were not asked for or are not known". */
const OPERATIONS_NOT_PROVIDED = -2147483648;
export const ENDPOINT_TYPE_BROKERS = 1;
export const ENDPOINT_TYPE_CONTROLLERS = 2;

export default defineHandler<DescribeClusterRequest, DescribeClusterResponse>({
  apiKey: 60,
  name: "DescribeCluster",
  versions: [0, 1],
  requestSchema: DescribeClusterRequestSchema,
  responseSchema: DescribeClusterResponseSchema,
  handle(ctx, request) {
    const { broker } = ctx;
    const address = broker.advertisedAddress();
    const base = {
      throttleTimeMs: 0,
      endpointType: request.endpointType,
      clusterId: broker.config.clusterId,
      clusterAuthorizedOperations: OPERATIONS_NOT_PROVIDED,
    };
    if (request.endpointType === ENDPOINT_TYPE_CONTROLLERS) {
      return {
        ...base,
        errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE,
        errorMessage: "this is a broker endpoint; Sluice runs its controller inside the broker, ask for brokers (1)",
        controllerId: -1,
        brokers: [],
      };
    }
    if (request.endpointType !== ENDPOINT_TYPE_BROKERS) {
      return {
        ...base,
        errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: `endpoint type ${request.endpointType} is not supported; use 1 (brokers)`,
        controllerId: -1,
        brokers: [],
      };
    }
    return {
      ...base,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      controllerId: address.nodeId,
      brokers: [{ brokerId: address.nodeId, host: address.host, port: address.port, rack: null }],
    };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      errorCode,
      errorMessage: null,
      endpointType: request.endpointType,
      clusterId: "",
      controllerId: -1,
      brokers: [],
      clusterAuthorizedOperations: OPERATIONS_NOT_PROVIDED,
    };
  },
});
