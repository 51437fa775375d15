// The coordinator's public inputs and results, independent of any wire version: handlers translate requests into
// these and results back into responses, and the console reads the descriptions directly.

export type GroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

export interface MemberProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupInput {
  groupId: string;
  /** Empty for a member joining for the first time. */
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: MemberProtocol[];
  /** JoinGroup v4+: a first join gets MEMBER_ID_REQUIRED and its id, and must join again with it. */
  requireKnownMemberId: boolean;
  reason?: string | null;
}

export interface JoinedMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinGroupResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string;
  memberId: string;
  /** Every member's metadata for the chosen protocol, for the leader only; empty for everyone else. */
  members: JoinedMember[];
}

export interface SyncGroupInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** SyncGroup v5+; null when the request version does not carry them. */
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface SyncGroupResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeavingMember {
  /** May be empty for a static member identified by its instance id alone. */
  memberId: string;
  groupInstanceId: string | null;
  reason?: string | null;
}

export interface LeaveGroupResult {
  errorCode: number;
  members: Array<{ memberId: string; groupInstanceId: string | null; errorCode: number }>;
}

export interface CommitOffsetInput {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  /** OffsetCommit v1 lets the client set it; otherwise (or when -1) the broker's clock. */
  commitTimestampMs?: number;
}

export interface CommitOffsetsInput {
  groupId: string;
  /** -1 with an empty member id: a simple consumer committing outside group membership. */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  offsets: CommitOffsetInput[];
}

export interface PartitionError {
  topic: string;
  partition: number;
  errorCode: number;
}

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestampMs: number;
}

export interface FetchedOffset {
  partition: number;
  /** -1 when nothing is committed. */
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

export interface FetchOffsetsResult {
  errorCode: number;
  topics: Array<{ topic: string; partitions: FetchedOffset[] }>;
}

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface DeleteOffsetsResult {
  errorCode: number;
  topics: Array<{ topic: string; partitions: Array<{ partition: number; errorCode: number }> }>;
}

export interface MemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** The member's metadata for the chosen protocol; empty before a protocol is chosen. */
  metadata: Buffer;
  /** What the leader assigned in the current generation; empty until then. */
  assignment: Buffer;
}

export interface GroupDescription {
  groupId: string;
  state: GroupState;
  /** Empty when the group has none (a group that only stores offsets). */
  protocolType: string;
  /** The chosen protocol; empty when none is chosen. */
  protocolName: string;
  generationId: number;
  leaderId: string | null;
  members: MemberDescription[];
}

export interface GroupListing {
  groupId: string;
  protocolType: string;
  state: GroupState;
}
