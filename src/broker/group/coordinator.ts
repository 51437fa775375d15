// The group coordinator: Kafka's classic consumer group protocol and committed offsets for every group on this
// broker. Each group moves through Empty → PreparingRebalance (join phase: waiting for every member to rejoin) →
// CompletingRebalance (sync phase: waiting for the leader's assignment) → Stable, and back to PreparingRebalance on
// a join, a leave or a session timeout. Every state change is synchronous; JoinGroup and SyncGroup return promises
// that resolve when their phase completes. Committed offsets and group existence are kept in an append-only file
// when there is a data dir; OffsetCommit awaits sync() before it answers.

import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import type { BrokerConfig } from "../config.js";
import { DeadlineQueue } from "./deadlines.js";
import { ConsumerGroup, GroupMember, type MemberSettings } from "./group.js";
import { defaultGroupLimits, type GroupLimits } from "./limits.js";
import { GroupLogFile } from "./log-file.js";
import type { GroupLogRecord } from "./log-records.js";
import { CommittedOffsets } from "./offsets.js";
import { CONSUMER_PROTOCOL_TYPE } from "./subscription.js";
import type {
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

export interface GroupCoordinatorOptions {
  /** Where the group log lives (under `<dataDir>/groups/`); null keeps everything in memory. */
  dataDir: string | null;
  config: BrokerConfig;
  logger: Logger;
  /** The clock for session, join and rebalance deadlines and commit timestamps. */
  now?: () => number;
  topicExists(name: string): boolean;
  partitionCount(name: string): number | undefined;
  limits?: Partial<GroupLimits>;
}

export const GROUP_LOG_DIRECTORY = "groups";
export const GROUP_LOG_FILE = "groups.log";

const NO_BYTES = Buffer.alloc(0);
const OFFSET_EXPIRY_KEY = JSON.stringify(["offset-expiry"]);

type Phase = "loading" | "running" | "closed";

function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leaderId: "",
    memberId,
    members: [],
  };
}

function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: NO_BYTES };
}

export class GroupCoordinator {
  readonly limits: GroupLimits;
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly offsets = new CommittedOffsets();
  private readonly deadlines: DeadlineQueue;
  private readonly now: () => number;
  private readonly logger: Logger;
  private log: GroupLogFile | null = null;
  private phase: Phase;

  constructor(private readonly options: GroupCoordinatorOptions) {
    this.limits = { ...defaultGroupLimits(), ...options.limits };
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.deadlines = new DeadlineQueue(this.now, (error, key) =>
      this.logger.error({ err: error, deadline: key }, "group deadline callback failed"),
    );
    // Without a data dir there is nothing to load, so the coordinator serves at once.
    this.phase = options.dataDir === null ? "running" : "loading";
    if (this.phase === "running") this.scheduleOffsetExpiry();
  }

  /** Reads the group log, rebuilding groups (as Empty) and committed offsets. */
  async load(): Promise<void> {
    const { dataDir } = this.options;
    if (dataDir === null || this.phase !== "loading") return;
    const directory = join(dataDir, GROUP_LOG_DIRECTORY);
    await mkdir(directory, { recursive: true });
    const log = await GroupLogFile.open({
      path: join(directory, GROUP_LOG_FILE),
      compactBytesMin: this.limits.offsetLogCompactBytesMin,
      logger: this.logger,
      snapshot: () => this.snapshot(),
    });
    for (const record of log.recovered) this.replay(record);
    await log.compactIfGrown();
    if (this.phase !== "loading") {
      // close() was called while the log was being read.
      await log.close();
      return;
    }
    this.log = log;
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
    for (const group of this.groups.values()) {
      for (const member of group.members.values()) {
        this.answerJoin(member, joinError(member.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
        this.answerSync(member, syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      }
    }
    this.deadlines.close();
  }

  /** Stops serving (see beginShutdown) and writes out and closes the group log. */
  async close(): Promise<void> {
    this.beginShutdown();
    const log = this.log;
    this.log = null;
    if (log !== null) await log.close();
  }

  /** Resolves once every offset commit and group change made so far is durable (a no-op in memory). */
  async sync(): Promise<void> {
    if (this.log !== null) await this.log.sync();
  }

  /** Runs whatever session, join and pending-member deadlines the clock says are due; for tests with a clock. */
  runDueDeadlines(): number {
    return this.deadlines.runDue();
  }

  // ---- JoinGroup ----

  joinGroup(input: JoinGroupInput): Promise<JoinGroupResult> {
    const refused = this.refusal();
    if (refused !== null) return Promise.resolve(joinError(input.memberId, refused));
    if (input.groupId === "") return Promise.resolve(joinError(input.memberId, ErrorCode.INVALID_GROUP_ID));
    const { groupMinSessionTimeoutMs, groupMaxSessionTimeoutMs } = this.options.config;
    if (input.sessionTimeoutMs < groupMinSessionTimeoutMs || input.sessionTimeoutMs > groupMaxSessionTimeoutMs) {
      return Promise.resolve(joinError(input.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const metadataBytes = input.protocols.reduce((sum, protocol) => sum + protocol.metadata.length, 0);
    if (
      input.protocols.length > this.limits.protocolsPerMemberMax ||
      metadataBytes > this.limits.memberMetadataBytesMax
    ) {
      this.logger.warn(
        { groupId: input.groupId, protocols: input.protocols.length, metadataBytes },
        "JoinGroup refused: too many protocols or too much protocol metadata",
      );
      return Promise.resolve(joinError(input.memberId, ErrorCode.INVALID_REQUEST));
    }

    if (input.protocolType === "" || input.protocols.length === 0) {
      return Promise.resolve(joinError(input.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    let group = this.groups.get(input.groupId);
    if (group === undefined) {
      if (input.memberId !== "") return Promise.resolve(joinError(input.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      const created = this.createGroup(input.groupId);
      if (created === null) return Promise.resolve(joinError(input.memberId, ErrorCode.POLICY_VIOLATION));
      group = created;
    }
    const protocolNames = input.protocols.map((protocol) => protocol.name);
    if (!group.supportsProtocols(input.memberId, input.protocolType, protocolNames)) {
      return Promise.resolve(joinError(input.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const settings: MemberSettings = {
      clientId: input.clientId,
      clientHost: input.clientHost,
      sessionTimeoutMs: input.sessionTimeoutMs,
      rebalanceTimeoutMs: input.rebalanceTimeoutMs > 0 ? input.rebalanceTimeoutMs : input.sessionTimeoutMs,
      protocolType: input.protocolType,
      protocols: input.protocols.map((protocol) => ({ name: protocol.name, metadata: Buffer.from(protocol.metadata) })),
    };
    return input.memberId === ""
      ? this.joinNewMember(group, input, settings)
      : this.joinKnownMember(group, input, settings);
  }

  private joinNewMember(
    group: ConsumerGroup,
    input: JoinGroupInput,
    settings: MemberSettings,
  ): Promise<JoinGroupResult> {
    const memberId = `${input.clientId.slice(0, this.limits.memberIdClientIdCharsMax)}-${randomUUID()}`;
    if (input.groupInstanceId !== null) {
      const previousId = group.staticMemberId(input.groupInstanceId);
      if (previousId !== undefined) return this.replaceStaticMember(group, previousId, memberId, input, settings);
    }
    if (group.size >= this.limits.groupMaxSize) {
      this.logger.warn({ groupId: group.groupId, size: group.size }, "JoinGroup refused: group is full");
      return Promise.resolve(joinError("", ErrorCode.GROUP_MAX_SIZE_REACHED));
    }
    if (input.groupInstanceId === null && input.requireKnownMemberId) {
      group.pendingMemberIds.add(memberId);
      this.deadlines.schedule(pendingKey(group.groupId, memberId), this.now() + input.sessionTimeoutMs, () =>
        this.expirePendingMember(group, memberId),
      );
      return Promise.resolve(joinError(memberId, ErrorCode.MEMBER_ID_REQUIRED));
    }
    return this.addMemberAndRebalance(group, new GroupMember(memberId, input.groupInstanceId, settings), input.reason);
  }

  private joinKnownMember(
    group: ConsumerGroup,
    input: JoinGroupInput,
    settings: MemberSettings,
  ): Promise<JoinGroupResult> {
    const { memberId } = input;
    if (group.pendingMemberIds.has(memberId)) {
      group.pendingMemberIds.delete(memberId);
      this.deadlines.cancel(pendingKey(group.groupId, memberId));
      return this.addMemberAndRebalance(
        group,
        new GroupMember(memberId, input.groupInstanceId, settings),
        input.reason,
      );
    }
    if (group.isStaticMemberFenced(memberId, input.groupInstanceId)) {
      return Promise.resolve(joinError(memberId, ErrorCode.FENCED_INSTANCE_ID));
    }
    const member = group.members.get(memberId);
    if (member === undefined || member.groupInstanceId !== input.groupInstanceId) {
      return Promise.resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
    switch (group.state) {
      case "PreparingRebalance":
        return this.updateMemberAndRebalance(group, member, settings, input.reason);
      case "CompletingRebalance":
        // A member that lost the JoinGroup answer asks again: it gets the same answer, unless it changed.
        if (member.hasSameProtocols(settings.protocolType, settings.protocols)) {
          this.touchSession(group, member);
          return Promise.resolve(this.joinAnswer(group, member));
        }
        return this.updateMemberAndRebalance(group, member, settings, input.reason);
      case "Stable":
        // The leader rejoining asks for a new assignment (its subscription may have changed); so does a changed member.
        if (member.memberId === group.leaderId || !member.hasSameProtocols(settings.protocolType, settings.protocols)) {
          return this.updateMemberAndRebalance(group, member, settings, input.reason);
        }
        this.touchSession(group, member);
        return Promise.resolve(this.joinAnswer(group, member));
      case "Empty":
      case "Dead":
        return Promise.resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private addMemberAndRebalance(
    group: ConsumerGroup,
    member: GroupMember,
    reason: string | null | undefined,
  ): Promise<JoinGroupResult> {
    const answer = this.awaitJoin(group, member);
    group.add(member);
    this.logger.info(
      { groupId: group.groupId, memberId: member.memberId, groupInstanceId: member.groupInstanceId, reason },
      "member joined group",
    );
    if (group.state === "PreparingRebalance" && group.joinNotBeforeMs > this.now()) {
      // A new member during the initial delay pushes it back, so a starting fleet lands in one generation.
      group.joinNotBeforeMs = Math.min(
        this.now() + this.options.config.groupInitialRebalanceDelayMs,
        group.rebalanceDeadlineMs,
      );
      this.scheduleJoinDelay(group);
    }
    this.maybePrepareRebalance(group, `member ${member.memberId} joined`);
    this.tryCompleteJoin(group);
    return answer;
  }

  private updateMemberAndRebalance(
    group: ConsumerGroup,
    member: GroupMember,
    settings: MemberSettings,
    reason: string | null | undefined,
  ): Promise<JoinGroupResult> {
    member.settings = settings;
    if (group.members.size === 1) group.protocolType = settings.protocolType;
    const answer = this.awaitJoin(group, member);
    this.maybePrepareRebalance(group, reason ?? `member ${member.memberId} rejoined`);
    this.tryCompleteJoin(group);
    return answer;
  }

  private replaceStaticMember(
    group: ConsumerGroup,
    previousId: string,
    memberId: string,
    input: JoinGroupInput,
    settings: MemberSettings,
  ): Promise<JoinGroupResult> {
    const previous = group.members.get(previousId)!;
    const unchanged = previous.hasSameProtocols(settings.protocolType, settings.protocols);
    const previousLeaderId = group.leaderId;
    const replacement = new GroupMember(memberId, input.groupInstanceId, settings);
    this.answerJoin(previous, joinError(previousId, ErrorCode.FENCED_INSTANCE_ID));
    this.answerSync(previous, syncError(ErrorCode.FENCED_INSTANCE_ID));
    this.deadlines.cancel(sessionKey(group.groupId, previousId));
    group.replace(previousId, replacement);
    this.logger.info(
      { groupId: group.groupId, groupInstanceId: input.groupInstanceId, previousId, memberId },
      "static member rejoined under a new member id",
    );
    if (group.state === "Stable" && unchanged) {
      // Nothing the leader assigns from has changed, so the member keeps its assignment without a rebalance. The
      // answer names the previous leader id so that a rejoining leader does not take itself for the leader and
      // compute an assignment a stable group would never distribute.
      this.touchSession(group, replacement);
      return Promise.resolve({ ...this.joinAnswer(group, replacement), leaderId: previousLeaderId ?? "", members: [] });
    }
    const answer = this.awaitJoin(group, replacement);
    this.maybePrepareRebalance(group, `static member ${input.groupInstanceId} rejoined with changed protocols`);
    this.tryCompleteJoin(group);
    return answer;
  }

  private awaitJoin(group: ConsumerGroup, member: GroupMember): Promise<JoinGroupResult> {
    // A second JoinGroup from the same member replaces the first; the first is told to retry.
    this.answerJoin(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    const answer = new Promise<JoinGroupResult>((resolve) => {
      member.joinWaiter = resolve;
    });
    // A member waiting for the join phase is alive by definition.
    this.deadlines.cancel(sessionKey(group.groupId, member.memberId));
    return answer;
  }

  private maybePrepareRebalance(group: ConsumerGroup, reason: string): void {
    if (group.state === "Stable" || group.state === "CompletingRebalance" || group.state === "Empty") {
      this.prepareRebalance(group, reason);
    }
  }

  private prepareRebalance(group: ConsumerGroup, reason: string): void {
    if (group.state === "CompletingRebalance") {
      // Assignments of the generation being completed will never be distributed.
      for (const member of group.members.values()) {
        member.assignment = NO_BYTES;
        if (this.answerSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS))) this.touchSession(group, member);
      }
    }
    this.deadlines.cancel(syncKey(group.groupId));
    const wasEmpty = group.state === "Empty";
    const nowMs = this.now();
    const rebalanceTimeoutMs = group.maxRebalanceTimeoutMs();
    group.state = "PreparingRebalance";
    group.rebalanceStartMs = nowMs;
    group.rebalanceDeadlineMs = nowMs + rebalanceTimeoutMs;
    group.joinNotBeforeMs = wasEmpty
      ? Math.min(nowMs + this.options.config.groupInitialRebalanceDelayMs, group.rebalanceDeadlineMs)
      : nowMs;
    this.deadlines.schedule(joinKey(group.groupId), group.rebalanceDeadlineMs, () => this.onJoinTimeout(group));
    this.scheduleJoinDelay(group);
    this.logger.info(
      { groupId: group.groupId, generationId: group.generationId, members: group.members.size, reason },
      "preparing rebalance",
    );
    // A group whose last member just left has nobody to wait for.
    this.tryCompleteJoin(group);
  }

  private scheduleJoinDelay(group: ConsumerGroup): void {
    if (group.joinNotBeforeMs <= this.now()) return;
    this.deadlines.schedule(joinDelayKey(group.groupId), group.joinNotBeforeMs, () => this.tryCompleteJoin(group));
  }

  private tryCompleteJoin(group: ConsumerGroup): void {
    if (group.state !== "PreparingRebalance" || !this.isCurrent(group)) return;
    if (group.allMembersJoined() && this.now() >= group.joinNotBeforeMs) this.completeJoin(group);
  }

  private onJoinTimeout(group: ConsumerGroup): void {
    if (group.state !== "PreparingRebalance" || !this.isCurrent(group)) return;
    for (const member of [...group.members.values()]) {
      if (member.isAwaitingJoin) continue;
      this.logger.info(
        { groupId: group.groupId, memberId: member.memberId },
        "member did not rejoin within the rebalance timeout; removing it",
      );
      this.removeMember(group, member);
    }
    this.completeJoin(group);
  }

  private completeJoin(group: ConsumerGroup): void {
    this.deadlines.cancel(joinKey(group.groupId));
    this.deadlines.cancel(joinDelayKey(group.groupId));
    group.generationId++;
    if (group.members.size === 0) {
      group.state = "Empty";
      group.emptySinceMs = this.now();
      group.protocolName = null;
      group.leaderId = null;
      group.refreshSubscribedTopics();
      this.persistGroup(group);
      this.logger.info({ groupId: group.groupId, generationId: group.generationId }, "group is empty");
      return;
    }
    group.leaderId = group.electLeader();
    group.protocolName = group.selectProtocol();
    group.refreshSubscribedTopics();
    group.state = "CompletingRebalance";
    this.persistGroup(group);
    this.logger.info(
      {
        groupId: group.groupId,
        generationId: group.generationId,
        protocolName: group.protocolName,
        leaderId: group.leaderId,
        members: group.members.size,
      },
      "join phase complete; waiting for the leader's assignment",
    );
    for (const member of group.members.values()) {
      this.answerJoin(member, this.joinAnswer(group, member));
      this.touchSession(group, member);
    }
    const generationId = group.generationId;
    this.deadlines.schedule(syncKey(group.groupId), this.now() + group.maxRebalanceTimeoutMs(), () =>
      this.onSyncTimeout(group, generationId),
    );
  }

  /**
   * A leader that heartbeats but never sends its SyncGroup would keep the followers waiting for ever; once the
   * rebalance timeout has passed, the members that have not sent SyncGroup are removed and the group rebalances.
   */
  private onSyncTimeout(group: ConsumerGroup, generationId: number): void {
    if (!this.isCurrent(group) || group.state !== "CompletingRebalance" || group.generationId !== generationId) return;
    for (const member of [...group.members.values()]) {
      if (member.isAwaitingSync) continue;
      this.logger.info(
        { groupId: group.groupId, memberId: member.memberId },
        "member did not send SyncGroup within the rebalance timeout; removing it",
      );
      this.removeMember(group, member);
    }
    this.prepareRebalance(group, "members did not send SyncGroup in time");
  }

  private joinAnswer(group: ConsumerGroup, member: GroupMember): JoinGroupResult {
    const isLeader = member.memberId === group.leaderId;
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leaderId: group.leaderId ?? "",
      memberId: member.memberId,
      members: isLeader
        ? [...group.members.values()].map((each) => ({
            memberId: each.memberId,
            groupInstanceId: each.groupInstanceId,
            metadata: each.metadataFor(group.protocolName),
          }))
        : [],
    };
  }

  // ---- SyncGroup ----

  syncGroup(input: SyncGroupInput): Promise<SyncGroupResult> {
    const refused = this.refusal();
    if (refused !== null) return Promise.resolve(syncError(refused));
    if (input.groupId === "") return Promise.resolve(syncError(ErrorCode.INVALID_GROUP_ID));
    const group = this.groups.get(input.groupId);
    if (group === undefined) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (group.isStaticMemberFenced(input.memberId, input.groupInstanceId)) {
      return Promise.resolve(syncError(ErrorCode.FENCED_INSTANCE_ID));
    }
    const member = group.members.get(input.memberId);
    if (member === undefined) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (input.generationId !== group.generationId) return Promise.resolve(syncError(ErrorCode.ILLEGAL_GENERATION));
    if (
      (input.protocolType !== null && input.protocolType !== group.protocolType) ||
      (input.protocolName !== null && input.protocolName !== group.protocolName)
    ) {
      return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    switch (group.state) {
      case "Empty":
      case "Dead":
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case "PreparingRebalance":
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case "Stable":
        this.touchSession(group, member);
        return Promise.resolve(this.syncAnswer(group, member));
      case "CompletingRebalance":
        return this.awaitAssignment(group, member, input);
    }
  }

  private awaitAssignment(group: ConsumerGroup, member: GroupMember, input: SyncGroupInput): Promise<SyncGroupResult> {
    if (member.memberId === group.leaderId) {
      const oversized = input.assignments.find(
        (entry) => entry.assignment.length > this.limits.memberAssignmentBytesMax,
      );
      if (oversized !== undefined) {
        this.logger.warn(
          { groupId: group.groupId, memberId: oversized.memberId, bytes: oversized.assignment.length },
          "SyncGroup refused: an assignment exceeds the size limit; rebalancing",
        );
        this.prepareRebalance(group, "the leader's assignment was too large");
        return Promise.resolve(syncError(ErrorCode.INVALID_REQUEST));
      }
    }
    this.answerSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    const answer = new Promise<SyncGroupResult>((resolve) => {
      member.syncWaiter = resolve;
    });
    this.deadlines.cancel(sessionKey(group.groupId, member.memberId));
    if (member.memberId === group.leaderId) {
      const assigned = new Map(input.assignments.map((entry) => [entry.memberId, entry.assignment]));
      for (const each of group.members.values()) {
        const assignment = assigned.get(each.memberId);
        each.assignment = assignment === undefined ? NO_BYTES : Buffer.from(assignment);
      }
      group.state = "Stable";
      this.deadlines.cancel(syncKey(group.groupId));
      this.logger.info(
        { groupId: group.groupId, generationId: group.generationId, members: group.members.size },
        "group is stable",
      );
      for (const each of group.members.values()) {
        if (this.answerSync(each, this.syncAnswer(group, each))) this.touchSession(group, each);
      }
    }
    return answer;
  }

  private syncAnswer(group: ConsumerGroup, member: GroupMember): SyncGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      assignment: member.assignment,
    };
  }

  // ---- Heartbeat and LeaveGroup ----

  heartbeat(input: HeartbeatInput): number {
    const refused = this.refusal();
    if (refused !== null) return refused;
    if (input.groupId === "") return ErrorCode.INVALID_GROUP_ID;
    const group = this.groups.get(input.groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.isStaticMemberFenced(input.memberId, input.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    const member = group.members.get(input.memberId);
    if (member === undefined || group.state === "Empty" || group.state === "Dead") return ErrorCode.UNKNOWN_MEMBER_ID;
    if (input.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.touchSession(group, member);
    return group.state === "PreparingRebalance" ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  leaveGroup(groupId: string, leaving: LeavingMember[]): LeaveGroupResult {
    const refused = this.refusal();
    if (refused !== null) return { errorCode: refused, members: [] };
    if (groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const group = this.groups.get(groupId);
    const members = leaving.map((identity) => ({
      memberId: identity.memberId,
      groupInstanceId: identity.groupInstanceId,
      errorCode: group === undefined ? ErrorCode.UNKNOWN_MEMBER_ID : this.leave(group, identity),
    }));
    return { errorCode: ErrorCode.NONE, members };
  }

  private leave(group: ConsumerGroup, identity: LeavingMember): number {
    let memberId = identity.memberId;
    if (identity.groupInstanceId !== null) {
      const current = group.staticMemberId(identity.groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (memberId !== "" && memberId !== current) return ErrorCode.FENCED_INSTANCE_ID;
      memberId = current;
    } else if (group.pendingMemberIds.delete(memberId)) {
      this.deadlines.cancel(pendingKey(group.groupId, memberId));
      this.tryCompleteJoin(group);
      return ErrorCode.NONE;
    }
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.logger.info({ groupId: group.groupId, memberId, reason: identity.reason }, "member left group");
    this.removeMemberAndUpdateGroup(group, member, `member ${memberId} left`);
    return ErrorCode.NONE;
  }

  private expireSession(group: ConsumerGroup, member: GroupMember): void {
    if (!this.isCurrent(group) || group.members.get(member.memberId) !== member) return;
    this.logger.info(
      { groupId: group.groupId, memberId: member.memberId, sessionTimeoutMs: member.settings.sessionTimeoutMs },
      "member session expired",
    );
    this.removeMemberAndUpdateGroup(group, member, `member ${member.memberId} session expired`);
  }

  private expirePendingMember(group: ConsumerGroup, memberId: string): void {
    if (!this.isCurrent(group) || !group.pendingMemberIds.delete(memberId)) return;
    this.tryCompleteJoin(group);
  }

  private removeMemberAndUpdateGroup(group: ConsumerGroup, member: GroupMember, reason: string): void {
    this.removeMember(group, member);
    if (group.state === "Stable" || group.state === "CompletingRebalance") this.prepareRebalance(group, reason);
    else if (group.state === "PreparingRebalance") this.tryCompleteJoin(group);
  }

  private removeMember(group: ConsumerGroup, member: GroupMember): void {
    this.deadlines.cancel(sessionKey(group.groupId, member.memberId));
    group.remove(member.memberId);
    this.answerJoin(member, joinError(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    this.answerSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
  }

  /** Restarts a member's session timer; a member waiting on a join or sync phase has none running. */
  private touchSession(group: ConsumerGroup, member: GroupMember): void {
    const key = sessionKey(group.groupId, member.memberId);
    if (member.isAwaitingJoin || member.isAwaitingSync) {
      this.deadlines.cancel(key);
      return;
    }
    this.deadlines.schedule(key, this.now() + member.settings.sessionTimeoutMs, () =>
      this.expireSession(group, member),
    );
  }

  private answerJoin(member: GroupMember, result: JoinGroupResult): boolean {
    const waiter = member.joinWaiter;
    if (waiter === null) return false;
    member.joinWaiter = null;
    waiter(result);
    return true;
  }

  private answerSync(member: GroupMember, result: SyncGroupResult): boolean {
    const waiter = member.syncWaiter;
    if (waiter === null) return false;
    member.syncWaiter = null;
    waiter(result);
    return true;
  }

  // ---- Offsets ----

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
      this.touchSession(group, member);
    }
    const nowMs = this.now();
    return input.offsets.map((entry) => {
      const { topic, partition } = entry;
      const partitionCount = this.options.partitionCount(topic);
      if (
        partitionCount === undefined ||
        !Number.isInteger(partition) ||
        partition < 0 ||
        partition >= partitionCount
      ) {
        return { topic, partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      }
      if (entry.metadata !== null && Buffer.byteLength(entry.metadata, "utf8") > this.limits.offsetMetadataBytesMax) {
        return { topic, partition, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE };
      }
      const commitTimestampMs =
        entry.commitTimestampMs !== undefined && entry.commitTimestampMs >= 0 ? entry.commitTimestampMs : nowMs;
      const committed: CommittedOffset = {
        offset: entry.offset,
        leaderEpoch: entry.leaderEpoch,
        metadata: entry.metadata,
        commitTimestampMs,
      };
      this.offsets.set(input.groupId, topic, partition, committed);
      this.log?.append({ kind: "offset", groupId: input.groupId, topic, partition, ...committed });
      return { topic, partition, errorCode: ErrorCode.NONE };
    });
  }

  /** The committed offsets for these partitions (-1 where none), or for every committed partition when null. */
  fetchOffsets(groupId: string, topics: TopicPartitions[] | null): FetchOffsetsResult {
    const refused = this.refusal();
    if (refused !== null) return { errorCode: refused, topics: [] };
    if (topics === null) {
      return {
        errorCode: ErrorCode.NONE,
        topics: this.offsets.forGroup(groupId).map(({ topic, partitions }) => ({
          topic,
          partitions: partitions.map(([partition, committed]) => ({
            partition,
            offset: committed.offset,
            leaderEpoch: committed.leaderEpoch,
            metadata: committed.metadata,
            errorCode: ErrorCode.NONE,
          })),
        })),
      };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map((partition) => {
          const committed = this.offsets.get(groupId, topic, partition);
          return {
            partition,
            offset: committed?.offset ?? -1,
            leaderEpoch: committed?.leaderEpoch ?? -1,
            metadata: committed === undefined ? "" : committed.metadata,
            errorCode: ErrorCode.NONE,
          };
        }),
      })),
    };
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
      topics: topics.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map((partition) => {
          const partitionCount = this.options.partitionCount(topic);
          if (partitionCount === undefined || partition < 0 || partition >= partitionCount) {
            return { partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
          }
          if (consuming && group.isSubscribedTo(topic)) {
            return { partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
          }
          if (this.offsets.delete(groupId, topic, partition)) {
            this.log?.append({ kind: "offset-deleted", groupId, topic, partition });
          }
          return { partition, errorCode: ErrorCode.NONE };
        }),
      })),
    };
  }

  /** Forgets every group's offsets for a deleted topic. */
  deleteTopicOffsets(topic: string): void {
    for (const { groupId, partition } of this.offsets.partitionsOfTopic(topic)) {
      this.offsets.delete(groupId, topic, partition);
      this.log?.append({ kind: "offset-deleted", groupId, topic, partition });
    }
  }

  /** A group's committed offsets, for the console (lag) and tools. */
  committedOffsets(groupId: string): Array<{ topic: string; partition: number; committed: CommittedOffset }> {
    return this.offsets
      .forGroup(groupId)
      .flatMap(({ topic, partitions }) =>
        partitions.map(([partition, committed]) => ({ topic, partition, committed })),
      );
  }

  /**
   * Deletes committed offsets past offsetsRetentionMs, as Kafka does (KIP-211): an empty group's offsets a
   * retention after it became empty (or after their commit, if later); an active consumer group's offsets of
   * topics it no longer subscribes to a retention after their commit. An empty group left without offsets is
   * deleted. Runs every offsetsRetentionCheckIntervalMs; returns how many offsets went.
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
      const stale = this.offsets.forGroup(group.groupId).flatMap(({ topic, partitions }) =>
        partitions
          .filter(([, committed]) => {
            if (!empty && group.isSubscribedTo(topic)) return false;
            const sinceMs = empty
              ? Math.max(committed.commitTimestampMs, group.emptySinceMs)
              : committed.commitTimestampMs;
            return nowMs - sinceMs >= retentionMs;
          })
          .map(([partition]) => ({ topic, partition })),
      );
      for (const { topic, partition } of stale) {
        this.offsets.delete(group.groupId, topic, partition);
        this.log?.append({ kind: "offset-deleted", groupId: group.groupId, topic, partition });
      }
      expired += stale.length;
      if (stale.length > 0) {
        this.logger.info({ groupId: group.groupId, offsets: stale.length, retentionMs }, "committed offsets expired");
      }
      const idleMs = nowMs - group.emptySinceMs;
      if (
        empty &&
        group.pendingMemberIds.size === 0 &&
        !this.offsets.hasGroup(group.groupId) &&
        (stale.length > 0 || idleMs >= retentionMs)
      ) {
        group.state = "Dead";
        this.groups.delete(group.groupId);
        this.log?.append({ kind: "group-deleted", groupId: group.groupId });
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
      for (const memberId of group.pendingMemberIds) this.deadlines.cancel(pendingKey(groupId, memberId));
      group.pendingMemberIds.clear();
      group.state = "Dead";
      this.groups.delete(groupId);
      this.offsets.deleteGroup(groupId);
      this.log?.append({ kind: "group-deleted", groupId });
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
      if (group.state !== "Empty" || group.pendingMemberIds.size > 0 || this.offsets.hasGroup(group.groupId)) continue;
      group.state = "Dead";
      this.groups.delete(group.groupId);
      this.log?.append({ kind: "group-deleted", groupId: group.groupId });
      this.logger.info({ groupId: group.groupId }, "idle group without offsets forgotten to stay within groupsMax");
      return true;
    }
    return false;
  }

  private persistGroup(group: ConsumerGroup): void {
    this.log?.append({
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

  private replay(record: GroupLogRecord): void {
    switch (record.kind) {
      case "group": {
        let group = this.groups.get(record.groupId);
        if (group === undefined) {
          group = new ConsumerGroup(record.groupId);
          this.groups.set(record.groupId, group);
        }
        group.protocolType = record.protocolType;
        group.generationId = record.generationId;
        return;
      }
      case "group-deleted":
        this.groups.delete(record.groupId);
        this.offsets.deleteGroup(record.groupId);
        return;
      case "offset": {
        if (!this.groups.has(record.groupId)) this.groups.set(record.groupId, new ConsumerGroup(record.groupId));
        const { offset, leaderEpoch, metadata, commitTimestampMs } = record;
        this.offsets.set(record.groupId, record.topic, record.partition, {
          offset,
          leaderEpoch,
          metadata,
          commitTimestampMs,
        });
        return;
      }
      case "offset-deleted":
        this.offsets.delete(record.groupId, record.topic, record.partition);
        return;
    }
  }

  private snapshot(): GroupLogRecord[] {
    const records: GroupLogRecord[] = [];
    for (const group of this.groups.values()) {
      records.push({
        kind: "group",
        groupId: group.groupId,
        protocolType: group.protocolType,
        generationId: group.generationId,
      });
    }
    for (const { groupId, topic, partition, committed } of this.offsets.entries()) {
      records.push({ kind: "offset", groupId, topic, partition, ...committed });
    }
    return records;
  }
}

function sessionKey(groupId: string, memberId: string): string {
  return JSON.stringify(["session", groupId, memberId]);
}

function pendingKey(groupId: string, memberId: string): string {
  return JSON.stringify(["pending", groupId, memberId]);
}

function joinKey(groupId: string): string {
  return JSON.stringify(["join", groupId]);
}

function syncKey(groupId: string): string {
  return JSON.stringify(["sync", groupId]);
}

function joinDelayKey(groupId: string): string {
  return JSON.stringify(["join-delay", groupId]);
}
