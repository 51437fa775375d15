// Membership and rebalancing, as in Kafka's group coordinator: JoinGroup, SyncGroup, Heartbeat and LeaveGroup move
// each group through Empty → PreparingRebalance (join phase: waiting for every member to rejoin) →
// CompletingRebalance (sync phase: waiting for the leader's assignment) → Stable, and back to PreparingRebalance on a
// join, a leave or a session timeout. Every state change is synchronous; JoinGroup and SyncGroup return promises that
// resolve when their phase completes. The groups themselves, their log and the broker's phase belong to the
// coordinator, reached through MembershipContext.

import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import type { BrokerConfig } from "../config.js";
import type { DeadlineQueue } from "./deadlines.js";
import { type ConsumerGroup, GroupMember, type MemberSettings } from "./group.js";
import type { GroupLimits } from "./limits.js";
import type {
  HeartbeatInput,
  JoinGroupInput,
  JoinGroupResult,
  LeaveGroupResult,
  LeavingMember,
  SyncGroupInput,
  SyncGroupResult,
} from "./types.js";

const NO_BYTES = Buffer.alloc(0);

/** What membership needs from the coordinator that owns the groups. */
export interface MembershipContext {
  readonly config: BrokerConfig;
  readonly limits: GroupLimits;
  readonly logger: Logger;
  readonly deadlines: DeadlineQueue;
  readonly groups: ReadonlyMap<string, ConsumerGroup>;
  now(): number;
  /** Why requests cannot be served now (loading, closed), or null. */
  refusal(): number | null;
  /** False for a group since deleted or once the coordinator stopped: its deadlines then do nothing. */
  isCurrent(group: ConsumerGroup): boolean;
  /** A new Empty group, or null when the broker holds as many groups as it may. */
  createGroup(groupId: string): ConsumerGroup | null;
  /** Records the group's generation and protocol type in the group log. */
  persistGroup(group: ConsumerGroup): void;
}

export function joinError(memberId: string, errorCode: number): JoinGroupResult {
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

export function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: NO_BYTES };
}

export class GroupMembership {
  constructor(private readonly context: MembershipContext) {}

  /** Answers every waiting JoinGroup and SyncGroup with errorCode (the coordinator is stopping). */
  answerAllWaiting(errorCode: number): void {
    for (const group of this.context.groups.values()) {
      for (const member of group.members.values()) {
        this.answerJoin(member, joinError(member.memberId, errorCode));
        this.answerSync(member, syncError(errorCode));
      }
    }
  }

  /** Forgets the members a group told to rejoin with their new ids (the group is being deleted). */
  forgetPendingMembers(group: ConsumerGroup): void {
    for (const memberId of group.pendingMemberIds) this.context.deadlines.cancel(pendingKey(group.groupId, memberId));
    group.pendingMemberIds.clear();
  }

  // ---- JoinGroup ----

  joinGroup(input: JoinGroupInput): Promise<JoinGroupResult> {
    const refused = this.context.refusal();
    if (refused !== null) return Promise.resolve(joinError(input.memberId, refused));
    if (input.groupId === "") return Promise.resolve(joinError(input.memberId, ErrorCode.INVALID_GROUP_ID));
    const { groupMinSessionTimeoutMs, groupMaxSessionTimeoutMs } = this.context.config;
    if (input.sessionTimeoutMs < groupMinSessionTimeoutMs || input.sessionTimeoutMs > groupMaxSessionTimeoutMs) {
      return Promise.resolve(joinError(input.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const metadataBytes = input.protocols.reduce((sum, protocol) => sum + protocol.metadata.length, 0);
    if (
      input.protocols.length > this.context.limits.protocolsPerMemberMax ||
      metadataBytes > this.context.limits.memberMetadataBytesMax
    ) {
      this.context.logger.warn(
        { groupId: input.groupId, protocols: input.protocols.length, metadataBytes },
        "JoinGroup refused: too many protocols or too much protocol metadata",
      );
      return Promise.resolve(joinError(input.memberId, ErrorCode.INVALID_REQUEST));
    }

    if (input.protocolType === "" || input.protocols.length === 0) {
      return Promise.resolve(joinError(input.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    let group = this.context.groups.get(input.groupId);
    if (group === undefined) {
      if (input.memberId !== "") return Promise.resolve(joinError(input.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      const created = this.context.createGroup(input.groupId);
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
    const memberId = `${input.clientId.slice(0, this.context.limits.memberIdClientIdCharsMax)}-${randomUUID()}`;
    if (input.groupInstanceId !== null) {
      const previousId = group.staticMemberId(input.groupInstanceId);
      if (previousId !== undefined) return this.replaceStaticMember(group, previousId, memberId, input, settings);
    }
    if (group.size >= this.context.limits.groupMaxSize) {
      this.context.logger.warn({ groupId: group.groupId, size: group.size }, "JoinGroup refused: group is full");
      return Promise.resolve(joinError("", ErrorCode.GROUP_MAX_SIZE_REACHED));
    }
    if (input.groupInstanceId === null && input.requireKnownMemberId) {
      group.pendingMemberIds.add(memberId);
      this.context.deadlines.schedule(
        pendingKey(group.groupId, memberId),
        this.context.now() + input.sessionTimeoutMs,
        () => this.expirePendingMember(group, memberId),
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
      this.context.deadlines.cancel(pendingKey(group.groupId, memberId));
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
    this.context.logger.info(
      { groupId: group.groupId, memberId: member.memberId, groupInstanceId: member.groupInstanceId, reason },
      "member joined group",
    );
    if (group.state === "PreparingRebalance" && group.joinNotBeforeMs > this.context.now()) {
      // A new member during the initial delay pushes it back, so a starting fleet lands in one generation.
      group.joinNotBeforeMs = Math.min(
        this.context.now() + this.context.config.groupInitialRebalanceDelayMs,
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
    this.context.deadlines.cancel(sessionKey(group.groupId, previousId));
    group.replace(previousId, replacement);
    this.context.logger.info(
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
    this.context.deadlines.cancel(sessionKey(group.groupId, member.memberId));
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
    this.context.deadlines.cancel(syncKey(group.groupId));
    const wasEmpty = group.state === "Empty";
    const nowMs = this.context.now();
    const rebalanceTimeoutMs = group.maxRebalanceTimeoutMs();
    group.state = "PreparingRebalance";
    group.rebalanceStartMs = nowMs;
    group.rebalanceDeadlineMs = nowMs + rebalanceTimeoutMs;
    group.joinNotBeforeMs = wasEmpty
      ? Math.min(nowMs + this.context.config.groupInitialRebalanceDelayMs, group.rebalanceDeadlineMs)
      : nowMs;
    this.context.deadlines.schedule(joinKey(group.groupId), group.rebalanceDeadlineMs, () => this.onJoinTimeout(group));
    this.scheduleJoinDelay(group);
    this.context.logger.info(
      { groupId: group.groupId, generationId: group.generationId, members: group.members.size, reason },
      "preparing rebalance",
    );
    // A group whose last member just left has nobody to wait for.
    this.tryCompleteJoin(group);
  }

  private scheduleJoinDelay(group: ConsumerGroup): void {
    if (group.joinNotBeforeMs <= this.context.now()) return;
    this.context.deadlines.schedule(joinDelayKey(group.groupId), group.joinNotBeforeMs, () =>
      this.tryCompleteJoin(group),
    );
  }

  private tryCompleteJoin(group: ConsumerGroup): void {
    if (group.state !== "PreparingRebalance" || !this.context.isCurrent(group)) return;
    if (group.allMembersJoined() && this.context.now() >= group.joinNotBeforeMs) this.completeJoin(group);
  }

  private onJoinTimeout(group: ConsumerGroup): void {
    if (group.state !== "PreparingRebalance" || !this.context.isCurrent(group)) return;
    for (const member of [...group.members.values()]) {
      if (member.isAwaitingJoin) continue;
      this.context.logger.info(
        { groupId: group.groupId, memberId: member.memberId },
        "member did not rejoin within the rebalance timeout; removing it",
      );
      this.removeMember(group, member);
    }
    this.completeJoin(group);
  }

  private completeJoin(group: ConsumerGroup): void {
    this.context.deadlines.cancel(joinKey(group.groupId));
    this.context.deadlines.cancel(joinDelayKey(group.groupId));
    group.generationId++;
    if (group.members.size === 0) {
      group.state = "Empty";
      group.emptySinceMs = this.context.now();
      group.protocolName = null;
      group.leaderId = null;
      group.refreshSubscribedTopics();
      this.context.persistGroup(group);
      this.context.logger.info({ groupId: group.groupId, generationId: group.generationId }, "group is empty");
      return;
    }
    group.leaderId = group.electLeader();
    group.protocolName = group.selectProtocol();
    group.refreshSubscribedTopics();
    group.state = "CompletingRebalance";
    this.context.persistGroup(group);
    this.context.logger.info(
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
    this.context.deadlines.schedule(syncKey(group.groupId), this.context.now() + group.maxRebalanceTimeoutMs(), () =>
      this.onSyncTimeout(group, generationId),
    );
  }

  /**
   * A leader that heartbeats but never sends its SyncGroup would keep the followers waiting for ever; once the
   * rebalance timeout has passed, the members that have not sent SyncGroup are removed and the group rebalances.
   */
  private onSyncTimeout(group: ConsumerGroup, generationId: number): void {
    if (!this.context.isCurrent(group) || group.state !== "CompletingRebalance" || group.generationId !== generationId)
      return;
    for (const member of [...group.members.values()]) {
      if (member.isAwaitingSync) continue;
      this.context.logger.info(
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
    const refused = this.context.refusal();
    if (refused !== null) return Promise.resolve(syncError(refused));
    if (input.groupId === "") return Promise.resolve(syncError(ErrorCode.INVALID_GROUP_ID));
    const group = this.context.groups.get(input.groupId);
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
        (entry) => entry.assignment.length > this.context.limits.memberAssignmentBytesMax,
      );
      if (oversized !== undefined) {
        this.context.logger.warn(
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
    this.context.deadlines.cancel(sessionKey(group.groupId, member.memberId));
    if (member.memberId === group.leaderId) {
      const assigned = new Map(input.assignments.map((entry) => [entry.memberId, entry.assignment]));
      for (const each of group.members.values()) {
        const assignment = assigned.get(each.memberId);
        each.assignment = assignment === undefined ? NO_BYTES : Buffer.from(assignment);
      }
      group.state = "Stable";
      this.context.deadlines.cancel(syncKey(group.groupId));
      this.context.logger.info(
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
    const refused = this.context.refusal();
    if (refused !== null) return refused;
    if (input.groupId === "") return ErrorCode.INVALID_GROUP_ID;
    const group = this.context.groups.get(input.groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.isStaticMemberFenced(input.memberId, input.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    const member = group.members.get(input.memberId);
    if (member === undefined || group.state === "Empty" || group.state === "Dead") return ErrorCode.UNKNOWN_MEMBER_ID;
    if (input.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.touchSession(group, member);
    return group.state === "PreparingRebalance" ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  leaveGroup(groupId: string, leaving: LeavingMember[]): LeaveGroupResult {
    const refused = this.context.refusal();
    if (refused !== null) return { errorCode: refused, members: [] };
    if (groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const group = this.context.groups.get(groupId);
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
      this.context.deadlines.cancel(pendingKey(group.groupId, memberId));
      this.tryCompleteJoin(group);
      return ErrorCode.NONE;
    }
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.context.logger.info({ groupId: group.groupId, memberId, reason: identity.reason }, "member left group");
    this.removeMemberAndUpdateGroup(group, member, `member ${memberId} left`);
    return ErrorCode.NONE;
  }

  private expireSession(group: ConsumerGroup, member: GroupMember): void {
    if (!this.context.isCurrent(group) || group.members.get(member.memberId) !== member) return;
    this.context.logger.info(
      { groupId: group.groupId, memberId: member.memberId, sessionTimeoutMs: member.settings.sessionTimeoutMs },
      "member session expired",
    );
    this.removeMemberAndUpdateGroup(group, member, `member ${member.memberId} session expired`);
  }

  private expirePendingMember(group: ConsumerGroup, memberId: string): void {
    if (!this.context.isCurrent(group) || !group.pendingMemberIds.delete(memberId)) return;
    this.tryCompleteJoin(group);
  }

  private removeMemberAndUpdateGroup(group: ConsumerGroup, member: GroupMember, reason: string): void {
    this.removeMember(group, member);
    if (group.state === "Stable" || group.state === "CompletingRebalance") this.prepareRebalance(group, reason);
    else if (group.state === "PreparingRebalance") this.tryCompleteJoin(group);
  }

  private removeMember(group: ConsumerGroup, member: GroupMember): void {
    this.context.deadlines.cancel(sessionKey(group.groupId, member.memberId));
    group.remove(member.memberId);
    this.answerJoin(member, joinError(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    this.answerSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
  }

  /** Restarts a member's session timer; a member waiting on a join or sync phase has none running. */
  touchSession(group: ConsumerGroup, member: GroupMember): void {
    const key = sessionKey(group.groupId, member.memberId);
    if (member.isAwaitingJoin || member.isAwaitingSync) {
      this.context.deadlines.cancel(key);
      return;
    }
    this.context.deadlines.schedule(key, this.context.now() + member.settings.sessionTimeoutMs, () =>
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
