// The group coordinator: Kafka's classic consumer groups and their committed offsets for every group on this
// broker, split along the seams Kafka draws between its group coordinator and its group metadata manager:
// membership.ts (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) with rebalance.ts (the join and sync phases and their
// deadlines), offset-store.ts (the committed offsets) and persistence.ts (the group log: replay, snapshot,
// compaction). This file owns the groups, the
// coordinator's phase (loading, running, closed), the checks that decide whether a commit comes from a member, and
// the admin APIs. OffsetCommit awaits sync() before it answers.

import type { Logger } from "pino";
import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import type { BrokerConfig } from "../config.js";
import { DeadlineQueue } from "./deadlines.js";
import { ConsumerGroup } from "./group.js";
import { defaultGroupLimits, type GroupLimits } from "./limits.js";
import { GroupMembership } from "./membership.js";
import { CommittedOffsets } from "./offsets.js";
import { OffsetStore } from "./offset-store.js";
import { GroupPersistence } from "./persistence.js";
import { CONSUMER_PROTOCOL_TYPE } from "./subscription.js";
import type {
  CommitOffsetInput,
  CommitOffsetsInput,
  CommittedOffset,
  DeleteOffsetsResult,
  FetchOffsetsResult,
  GroupDescription,
  GroupListing,
  GroupState,
  HeartbeatInput,
  JoinGroupInput,
  JoinGroupResult,
  LeaveGroupResult,
  LeavingMember,
  PartitionError,
  SyncGroupInput,
  SyncGroupResult,
  TopicPartitions,
} from "./types.js";

export { GROUP_LOG_DIRECTORY, GROUP_LOG_FILE } from "./persistence.js";

export interface GroupCoordinatorOptions {
  /** Where the group log lives (under `<dataDir>/groups/`); null keeps everything in memory. */
  dataDir: string | null;
  config: BrokerConfig;
  logger: Logger;
  /** The clock for session, join and rebalance deadlines and commit timestamps. */
  now?: () => number;
  topicExists(name: string): boolean;
  partitionCount(name: string): number | undefined;
  /**
   * A group began a rebalance; topics are what its members read (null when not known). The broker answers the fetches
   * waiting on them, so that an idle member, whose next heartbeat may be seconds away, learns of it at once.
   */
  rebalanceStarted?(topics: ReadonlySet<string> | null): void;
  limits?: Partial<GroupLimits>;
}

const OFFSET_EXPIRY_KEY = JSON.stringify(["offset-expiry"]);

type Phase = "loading" | "running" | "closed";

export class GroupCoordinator {
  readonly limits: GroupLimits;
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly deadlines: DeadlineQueue;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly persistence: GroupPersistence;
  private readonly offsetStore: OffsetStore;
  private readonly membership: GroupMembership;
  private phase: Phase;

  constructor(private readonly options: GroupCoordinatorOptions) {
    this.limits = { ...defaultGroupLimits(), ...options.limits };
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.deadlines = new DeadlineQueue(this.now, (error, key) =>
      this.logger.error({ err: error, deadline: key }, "group deadline callback failed"),
    );
    const offsets = new CommittedOffsets();
    this.persistence = new GroupPersistence(this.groups, offsets);
    this.offsetStore = new OffsetStore({
      offsets,
      persistence: this.persistence,
      limits: this.limits,
      logger: this.logger,
      partitionCount: options.partitionCount,
    });
    this.membership = new GroupMembership({
      config: options.config,
      limits: this.limits,
      logger: this.logger,
      deadlines: this.deadlines,
      groups: this.groups,
      now: this.now,
      refusal: () => this.refusal(),
      isCurrent: (group) => this.isCurrent(group),
      createGroup: (groupId) => this.createGroup(groupId),
      persistGroup: (group) => this.persistGroup(group),
      rebalanceStarted: (topics) => options.rebalanceStarted?.(topics),
    });
    // Without a data dir there is nothing to load, so the coordinator serves at once.
    this.phase = options.dataDir === null ? "running" : "loading";
    if (this.phase === "running") this.scheduleOffsetExpiry();
  }

  /** Reads the group log, rebuilding groups (as Empty) and committed offsets. */
  async load(): Promise<void> {
    const { dataDir } = this.options;
    if (dataDir === null || this.phase !== "loading") return;
    const log = await this.persistence.load(dataDir, {
      compactBytesMin: this.limits.offsetLogCompactBytesMin,
      logger: this.logger,
    });
    if (this.phase !== "loading") {
      // close() was called while the log was being read.
      await log.close();
      return;
    }
    this.persistence.attach(log);
    this.phase = "running";
    // How long loaded groups have been empty is not known, so their offsets are kept a full retention from now.
    for (const group of this.groups.values()) group.emptySinceMs = this.now();
    this.scheduleOffsetExpiry();
    this.logger.info(
      { groups: this.groups.size, records: log.recovered.length, bytes: log.sizeBytes },
      "group state loaded",
    );
  }

  /**
   * Stops serving: every waiting JoinGroup and SyncGroup is answered with COORDINATOR_NOT_AVAILABLE (clients then
   * look for the coordinator again) and new requests are refused. Commits already made can still be synced.
   */
  beginShutdown(): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    this.membership.answerAllWaiting(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    this.deadlines.close();
  }

  /** Stops serving (see beginShutdown) and writes out and closes the group log. */
  async close(): Promise<void> {
    this.beginShutdown();
    await this.persistence.close();
  }

  /** Resolves once every offset commit and group change made so far is durable (a no-op in memory). */
  async sync(): Promise<void> {
    await this.persistence.sync();
  }

  /** Runs whatever session, join and pending-member deadlines the clock says are due; for tests with a clock. */
  runDueDeadlines(): number {
    return this.deadlines.runDue();
  }

  // ---- Membership (membership.ts) ----

  joinGroup(input: JoinGroupInput): Promise<JoinGroupResult> {
    return this.membership.joinGroup(input);
  }

  syncGroup(input: SyncGroupInput): Promise<SyncGroupResult> {
    return this.membership.syncGroup(input);
  }

  heartbeat(input: HeartbeatInput): number {
    return this.membership.heartbeat(input);
  }

  leaveGroup(groupId: string, leaving: LeavingMember[]): LeaveGroupResult {
    return this.membership.leaveGroup(groupId, leaving);
  }

  // ---- Offsets (offset-store.ts) ----

  /**
   * Validates membership and records the offsets in memory and in the log buffer; await sync() before telling the
   * client they are committed.
   */
  commitOffsets(input: CommitOffsetsInput): PartitionError[] {
    const all = (errorCode: number): PartitionError[] =>
      input.offsets.map(({ topic, partition }) => ({ topic, partition, errorCode }));
    const refused = this.refusal();
    if (refused !== null) return all(refused);
    let group = this.groups.get(input.groupId);
    if (group === undefined) {
      // Only a simple consumer may create a group by committing; a generation means a group that no longer exists.
      if (input.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      const created = this.createGroup(input.groupId);
      if (created === null) return all(ErrorCode.POLICY_VIOLATION);
      group = created;
    }
    if (!(input.generationId < 0 && group.state === "Empty")) {
      if (group.isStaticMemberFenced(input.memberId, input.groupInstanceId)) return all(ErrorCode.FENCED_INSTANCE_ID);
      const member = group.members.get(input.memberId);
      if (member === undefined) return all(ErrorCode.UNKNOWN_MEMBER_ID);
      if (input.generationId !== group.generationId) return all(ErrorCode.ILLEGAL_GENERATION);
      // The member has its JoinGroup answer but not yet its assignment, so it cannot own what it commits.
      if (group.state === "CompletingRebalance") return all(ErrorCode.REBALANCE_IN_PROGRESS);
      this.membership.touchSession(group, member);
    }
    return this.offsetStore.commit(input, this.now());
  }

  /**
   * Checks a TxnOffsetCommit's member and generation as OffsetCommit would (generation -1 skips the check, as it
   * does for producers that send no group metadata), without storing anything: the offsets wait for the commit.
   */
  checkTransactionalCommit(input: Omit<CommitOffsetsInput, "offsets">): number {
    const refused = this.refusal();
    if (refused !== null) return refused;
    if (input.generationId < 0) return ErrorCode.NONE;
    const group = this.groups.get(input.groupId);
    if (group === undefined) return ErrorCode.ILLEGAL_GENERATION;
    if (group.isStaticMemberFenced(input.memberId, input.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    if (!group.members.has(input.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (input.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return ErrorCode.NONE;
  }

  /**
   * Stores offsets a transaction committed, whatever the group's membership now (the check was made when they were
   * sent). Await sync() for durability.
   */
  commitTransactionalOffsets(groupId: string, offsets: CommitOffsetInput[]): void {
    if (this.phase !== "running") return;
    if (!this.groups.has(groupId) && this.createGroup(groupId) === null) {
      this.logger.warn({ groupId }, "transactional offsets dropped: the broker has too many groups");
      return;
    }
    this.offsetStore.commit({ groupId, generationId: -1, memberId: "", groupInstanceId: null, offsets }, this.now());
  }

  /** The committed offsets for these partitions (-1 where none), or for every committed partition when null. */
  fetchOffsets(groupId: string, topics: TopicPartitions[] | null): FetchOffsetsResult {
    const refused = this.refusal();
    if (refused !== null) return { errorCode: refused, topics: [] };
    return { errorCode: ErrorCode.NONE, topics: this.offsetStore.fetch(groupId, topics) };
  }

  /** OffsetDelete: removes offsets the group does not consume right now. Await sync() before answering. */
  deleteOffsets(groupId: string, topics: TopicPartitions[]): DeleteOffsetsResult {
    const refused = this.refusal();
    if (refused !== null) return { errorCode: refused, topics: [] };
    const group = this.groups.get(groupId);
    if (group === undefined || group.state === "Dead") return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    const consuming = group.state !== "Empty";
    if (consuming && group.protocolType !== CONSUMER_PROTOCOL_TYPE) {
      return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: this.offsetStore.delete(groupId, topics, (topic) => consuming && group.isSubscribedTo(topic)),
    };
  }

  /** Forgets every group's offsets for a deleted topic. */
  deleteTopicOffsets(topic: string): void {
    this.offsetStore.deleteTopic(topic);
  }

  /** A group's committed offsets, for the console (lag) and tools. */
  committedOffsets(groupId: string): Array<{ topic: string; partition: number; committed: CommittedOffset }> {
    return this.offsetStore.committed(groupId);
  }

  /**
   * Deletes committed offsets past offsetsRetentionMs, as Kafka does (KIP-211; see OffsetStore.expire). An empty
   * group left without offsets is deleted. Runs every offsetsRetentionCheckIntervalMs; returns how many offsets went.
   */
  expireOffsets(): number {
    if (this.phase !== "running") return 0;
    const retentionMs = this.options.config.offsetsRetentionMs;
    const nowMs = this.now();
    let expired = 0;
    for (const group of [...this.groups.values()]) {
      const empty = group.state === "Empty";
      // A rebalancing group's subscriptions are not known yet (a group that was empty has none), so, as in Kafka,
      // only a stable consumer group's unsubscribed topics expire.
      if (!empty && (group.state !== "Stable" || group.protocolType !== CONSUMER_PROTOCOL_TYPE)) continue;
      const stale = this.offsetStore.expire(group, nowMs, retentionMs);
      expired += stale;
      const idleMs = nowMs - group.emptySinceMs;
      if (
        empty &&
        group.pendingMemberIds.size === 0 &&
        !this.offsetStore.hasGroup(group.groupId) &&
        (stale > 0 || idleMs >= retentionMs)
      ) {
        group.state = "Dead";
        this.groups.delete(group.groupId);
        this.persistence.append({ kind: "group-deleted", groupId: group.groupId });
        this.logger.info(
          { groupId: group.groupId },
          "empty group deleted: no offsets left and empty past the retention",
        );
      }
    }
    if (expired > 0)
      void this.sync().catch((error: unknown) => this.logger.error({ err: error }, "group log sync failed"));
    return expired;
  }

  private scheduleOffsetExpiry(): void {
    this.deadlines.schedule(OFFSET_EXPIRY_KEY, this.now() + this.options.config.offsetsRetentionCheckIntervalMs, () => {
      this.expireOffsets();
      this.scheduleOffsetExpiry();
    });
  }

  // ---- Admin ----

  /** DeleteGroups: removes empty groups with their offsets. Await sync() before answering. */
  deleteGroups(groupIds: string[]): Array<{ groupId: string; errorCode: number }> {
    const refused = this.refusal();
    return groupIds.map((groupId) => {
      if (refused !== null) return { groupId, errorCode: refused };
      const group = this.groups.get(groupId);
      if (group === undefined || group.state === "Dead") return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
      if (group.state !== "Empty") return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
      this.membership.forgetPendingMembers(group);
      group.state = "Dead";
      this.groups.delete(groupId);
      this.offsetStore.deleteGroup(groupId);
      this.persistence.append({ kind: "group-deleted", groupId });
      this.logger.info({ groupId }, "group deleted");
      return { groupId, errorCode: ErrorCode.NONE };
    });
  }

  describeGroup(groupId: string): GroupDescription {
    const group = this.groups.get(groupId);
    if (group === undefined) {
      return {
        groupId,
        state: "Dead",
        protocolType: "",
        protocolName: "",
        generationId: -1,
        leaderId: null,
        members: [],
      };
    }
    return {
      groupId,
      state: group.state,
      protocolType: group.protocolType ?? "",
      protocolName: group.protocolName ?? "",
      generationId: group.generationId,
      leaderId: group.leaderId,
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.settings.clientId,
        clientHost: member.settings.clientHost,
        sessionTimeoutMs: member.settings.sessionTimeoutMs,
        rebalanceTimeoutMs: member.settings.rebalanceTimeoutMs,
        metadata: member.metadataFor(group.protocolName),
        assignment: member.assignment,
      })),
    };
  }

  describeGroups(groupIds: string[]): GroupDescription[] {
    return groupIds.map((groupId) => this.describeGroup(groupId));
  }

  /** Groups, optionally only those in the given states (compared case-insensitively, as Kafka does). */
  listGroups(states: readonly string[] = []): GroupListing[] {
    const wanted = new Set(states.map((state) => state.toLowerCase()));
    const listed: GroupListing[] = [];
    for (const group of this.groups.values()) {
      if (wanted.size > 0 && !wanted.has(group.state.toLowerCase())) continue;
      listed.push({ groupId: group.groupId, protocolType: group.protocolType ?? "", state: group.state });
    }
    return listed;
  }

  /** Why requests cannot be served now, or null when they can. */
  refusal(): number | null {
    if (this.phase === "loading") return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (this.phase === "closed") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return null;
  }

  groupState(groupId: string): GroupState {
    return this.groups.get(groupId)?.state ?? "Dead";
  }

  // ---- Internals ----

  private createGroup(groupId: string): ConsumerGroup | null {
    if (this.groups.size >= this.limits.groupsMax && !this.evictIdleGroup()) {
      this.logger.warn({ groupId, groupsMax: this.limits.groupsMax }, "group refused: the broker has too many groups");
      return null;
    }
    const group = new ConsumerGroup(groupId);
    group.emptySinceMs = this.now();
    this.groups.set(groupId, group);
    this.persistGroup(group);
    return group;
  }

  /**
   * Makes room by forgetting the oldest group that has no members and no committed offsets (what consumers with
   * throwaway group ids leave behind); returns false when every group holds something worth keeping.
   */
  private evictIdleGroup(): boolean {
    for (const group of this.groups.values()) {
      if (group.state !== "Empty" || group.pendingMemberIds.size > 0 || this.offsetStore.hasGroup(group.groupId)) {
        continue;
      }
      group.state = "Dead";
      this.groups.delete(group.groupId);
      this.persistence.append({ kind: "group-deleted", groupId: group.groupId });
      this.logger.info({ groupId: group.groupId }, "idle group without offsets forgotten to stay within groupsMax");
      return true;
    }
    return false;
  }

  private persistGroup(group: ConsumerGroup): void {
    this.persistence.append({
      kind: "group",
      groupId: group.groupId,
      protocolType: group.protocolType,
      generationId: group.generationId,
    });
  }

  /** Deadlines outlive nothing: a callback for a group that has since been deleted does nothing. */
  private isCurrent(group: ConsumerGroup): boolean {
    return this.phase === "running" && this.groups.get(group.groupId) === group;
  }
}
