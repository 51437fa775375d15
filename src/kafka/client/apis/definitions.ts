// Every Kafka API Sluice's client calls, with the versions it speaks. A connection uses, per API, the highest version
// both it and the broker support (negotiation in versions.ts). The ranges stop where a version would need something
// this client does not do: Fetch ≥ 13 and Produce ≥ 13 address topics by id only, so Fetch stops at 12 (the codec
// itself stops Produce at 11). Lower bounds are the oldest versions whose shape the callers handle.

import * as messages from "../../protocol/messages/index.js";
import type { MessageSchema, VersionRange } from "../../protocol/schema.js";

export interface ApiDefinition<Request, Response> {
  readonly name: string;
  readonly apiKey: number;
  readonly requestSchema: MessageSchema;
  readonly responseSchema: MessageSchema;
  /** The versions this client speaks, inside the codec's declared range. */
  readonly versions: VersionRange;
  /** Only for typing: a definition carries its request and response types. */
  readonly _types?: { request: Request; response: Response };
}

function define<Request, Response>(
  requestSchema: MessageSchema,
  responseSchema: MessageSchema,
  versions: VersionRange,
): ApiDefinition<Request, Response> {
  const [codecMin, codecMax] = requestSchema.validVersions;
  if (versions[0] < codecMin || versions[1] > codecMax) {
    throw new Error(`${requestSchema.name}: versions ${versions.join("–")} exceed the codec's ${codecMin}–${codecMax}`);
  }
  return {
    name: requestSchema.name.replace(/Request$/, ""),
    apiKey: requestSchema.apiKey,
    requestSchema,
    responseSchema,
    versions,
  };
}

export const Api = {
  Produce: define<messages.ProduceRequest, messages.ProduceResponse>(
    messages.ProduceRequestSchema,
    messages.ProduceResponseSchema,
    [3, 11],
  ),
  Fetch: define<messages.FetchRequest, messages.FetchResponse>(
    messages.FetchRequestSchema,
    messages.FetchResponseSchema,
    [4, 12],
  ),
  ListOffsets: define<messages.ListOffsetsRequest, messages.ListOffsetsResponse>(
    messages.ListOffsetsRequestSchema,
    messages.ListOffsetsResponseSchema,
    [1, 10],
  ),
  Metadata: define<messages.MetadataRequest, messages.MetadataResponse>(
    messages.MetadataRequestSchema,
    messages.MetadataResponseSchema,
    [1, 12],
  ),
  OffsetCommit: define<messages.OffsetCommitRequest, messages.OffsetCommitResponse>(
    messages.OffsetCommitRequestSchema,
    messages.OffsetCommitResponseSchema,
    [2, 9],
  ),
  OffsetFetch: define<messages.OffsetFetchRequest, messages.OffsetFetchResponse>(
    messages.OffsetFetchRequestSchema,
    messages.OffsetFetchResponseSchema,
    [1, 9],
  ),
  FindCoordinator: define<messages.FindCoordinatorRequest, messages.FindCoordinatorResponse>(
    messages.FindCoordinatorRequestSchema,
    messages.FindCoordinatorResponseSchema,
    [0, 6],
  ),
  JoinGroup: define<messages.JoinGroupRequest, messages.JoinGroupResponse>(
    messages.JoinGroupRequestSchema,
    messages.JoinGroupResponseSchema,
    [1, 9],
  ),
  Heartbeat: define<messages.HeartbeatRequest, messages.HeartbeatResponse>(
    messages.HeartbeatRequestSchema,
    messages.HeartbeatResponseSchema,
    [0, 4],
  ),
  LeaveGroup: define<messages.LeaveGroupRequest, messages.LeaveGroupResponse>(
    messages.LeaveGroupRequestSchema,
    messages.LeaveGroupResponseSchema,
    [0, 5],
  ),
  SyncGroup: define<messages.SyncGroupRequest, messages.SyncGroupResponse>(
    messages.SyncGroupRequestSchema,
    messages.SyncGroupResponseSchema,
    [0, 5],
  ),
  DescribeGroups: define<messages.DescribeGroupsRequest, messages.DescribeGroupsResponse>(
    messages.DescribeGroupsRequestSchema,
    messages.DescribeGroupsResponseSchema,
    [0, 5],
  ),
  ListGroups: define<messages.ListGroupsRequest, messages.ListGroupsResponse>(
    messages.ListGroupsRequestSchema,
    messages.ListGroupsResponseSchema,
    [0, 5],
  ),
  SaslHandshake: define<messages.SaslHandshakeRequest, messages.SaslHandshakeResponse>(
    messages.SaslHandshakeRequestSchema,
    messages.SaslHandshakeResponseSchema,
    [1, 1],
  ),
  ApiVersions: define<messages.ApiVersionsRequest, messages.ApiVersionsResponse>(
    messages.ApiVersionsRequestSchema,
    messages.ApiVersionsResponseSchema,
    [0, 3],
  ),
  CreateTopics: define<messages.CreateTopicsRequest, messages.CreateTopicsResponse>(
    messages.CreateTopicsRequestSchema,
    messages.CreateTopicsResponseSchema,
    [0, 7],
  ),
  DeleteTopics: define<messages.DeleteTopicsRequest, messages.DeleteTopicsResponse>(
    messages.DeleteTopicsRequestSchema,
    messages.DeleteTopicsResponseSchema,
    [0, 6],
  ),
  DeleteRecords: define<messages.DeleteRecordsRequest, messages.DeleteRecordsResponse>(
    messages.DeleteRecordsRequestSchema,
    messages.DeleteRecordsResponseSchema,
    [0, 2],
  ),
  InitProducerId: define<messages.InitProducerIdRequest, messages.InitProducerIdResponse>(
    messages.InitProducerIdRequestSchema,
    messages.InitProducerIdResponseSchema,
    [0, 5],
  ),
  DescribeConfigs: define<messages.DescribeConfigsRequest, messages.DescribeConfigsResponse>(
    messages.DescribeConfigsRequestSchema,
    messages.DescribeConfigsResponseSchema,
    [1, 4],
  ),
  AlterConfigs: define<messages.AlterConfigsRequest, messages.AlterConfigsResponse>(
    messages.AlterConfigsRequestSchema,
    messages.AlterConfigsResponseSchema,
    [0, 2],
  ),
  SaslAuthenticate: define<messages.SaslAuthenticateRequest, messages.SaslAuthenticateResponse>(
    messages.SaslAuthenticateRequestSchema,
    messages.SaslAuthenticateResponseSchema,
    [0, 2],
  ),
  CreatePartitions: define<messages.CreatePartitionsRequest, messages.CreatePartitionsResponse>(
    messages.CreatePartitionsRequestSchema,
    messages.CreatePartitionsResponseSchema,
    [0, 3],
  ),
  DeleteGroups: define<messages.DeleteGroupsRequest, messages.DeleteGroupsResponse>(
    messages.DeleteGroupsRequestSchema,
    messages.DeleteGroupsResponseSchema,
    [0, 2],
  ),
  IncrementalAlterConfigs: define<messages.IncrementalAlterConfigsRequest, messages.IncrementalAlterConfigsResponse>(
    messages.IncrementalAlterConfigsRequestSchema,
    messages.IncrementalAlterConfigsResponseSchema,
    [0, 1],
  ),
  OffsetDelete: define<messages.OffsetDeleteRequest, messages.OffsetDeleteResponse>(
    messages.OffsetDeleteRequestSchema,
    messages.OffsetDeleteResponseSchema,
    [0, 0],
  ),
  DescribeLogDirs: define<messages.DescribeLogDirsRequest, messages.DescribeLogDirsResponse>(
    messages.DescribeLogDirsRequestSchema,
    messages.DescribeLogDirsResponseSchema,
    [1, 4],
  ),
  DescribeCluster: define<messages.DescribeClusterRequest, messages.DescribeClusterResponse>(
    messages.DescribeClusterRequestSchema,
    messages.DescribeClusterResponseSchema,
    [0, 1],
  ),
} as const;

export type RequestOf<A> = A extends ApiDefinition<infer Request, unknown> ? Request : never;
export type ResponseOf<A> = A extends ApiDefinition<unknown, infer Response> ? Response : never;
