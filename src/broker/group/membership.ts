// Membership, as in Kafka's group coordinator: JoinGroup, SyncGroup, Heartbeat and LeaveGroup, checked against the
// group and its members and turned into steps of the rebalance (rebalance.ts), which moves the group from Empty or
// Stable through the join and sync phases and back, on a join, a leave or a session timeout. Every state change is
// synchronous; JoinGroup and SyncGroup return promises that resolve when their phase completes. The groups
// themselves, their log and the broker's phase belong to the coordinator, reached through MembershipContext.

import { randomUUID } from "node:crypto";
import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import { type ConsumerGroup, GroupMember, type MemberSettings } from "./group.js";
import { GroupRebalance, joinError, syncError, type MembershipContext } from "./rebalance.js";
import type {
  HeartbeatInput,
  JoinGroupInput,
  JoinGroupResult,
  LeaveGroupResult,
  LeavingMember,
  SyncGroupInput,
  SyncGroupResult,
} from "./types.js";

export type { MembershipContext } from "./rebalance.js";

const NO_BYTES = Buffer.alloc(0);

export class GroupMembership {
  private readonly rebalance: GroupRebalance;

  constructor(private readonly context: MembershipContext) {
    this.rebalance = new GroupRebalance(context);
  }

  /** Answers every waiting JoinGroup and SyncGroup with errorCode (the coordinator is stopping). */
  answerAllWaiting(errorCode: number): void {
    this.rebalance.answerAllWaiting(errorCode);
  }

  /** Forgets the members a group told to rejoin with their new ids (the group is being deleted). */
  forgetPendingMembers(group: ConsumerGroup): void {
    this.rebalance.forgetPendingMembers(group);
  }

  /** Restarts a member's session timer (a commit from it shows it is alive). */
  touchSession(group: ConsumerGroup, member: GroupMember): void {
    this.rebalance.touchSession(group, member);
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
      this.rebalance.addPendingMember(group, memberId, input.sessionTimeoutMs);
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
    if (this.rebalance.takePendingMember(group, memberId)) {
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
          this.rebalance.touchSession(group, member);
          return Promise.resolve(this.rebalance.joinAnswer(group, member));
        }
        return this.updateMemberAndRebalance(group, member, settings, input.reason);
      case "Stable":
        // The leader rejoining asks for a new assignment (its subscription may have changed); so does a changed member.
        if (member.memberId === group.leaderId || !member.hasSameProtocols(settings.protocolType, settings.protocols)) {
          return this.updateMemberAndRebalance(group, member, settings, input.reason);
        }
        this.rebalance.touchSession(group, member);
        return Promise.resolve(this.rebalance.joinAnswer(group, member));
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
    const answer = this.rebalance.awaitJoin(group, member);
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
      this.rebalance.scheduleJoinDelay(group);
    }
    this.rebalance.maybePrepareRebalance(group, `member ${member.memberId} joined`);
    this.rebalance.tryCompleteJoin(group);
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
    const answer = this.rebalance.awaitJoin(group, member);
    this.rebalance.maybePrepareRebalance(group, reason ?? `member ${member.memberId} rejoined`);
    this.rebalance.tryCompleteJoin(group);
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
    this.rebalance.answerJoin(previous, joinError(previousId, ErrorCode.FENCED_INSTANCE_ID));
    this.rebalance.answerSync(previous, syncError(ErrorCode.FENCED_INSTANCE_ID));
    this.rebalance.cancelSession(group, previousId);
    group.replace(previousId, replacement);
    this.context.logger.info(
      { groupId: group.groupId, groupInstanceId: input.groupInstanceId, previousId, memberId },
      "static member rejoined under a new member id",
    );
    if (group.state === "Stable" && unchanged) {
      // Nothing the leader assigns from has changed, so the member keeps its assignment without a rebalance. The
      // answer names the previous leader id so that a rejoining leader does not take itself for the leader and
      // compute an assignment a stable group would never distribute.
      this.rebalance.touchSession(group, replacement);
      return Promise.resolve({
        ...this.rebalance.joinAnswer(group, replacement),
        leaderId: previousLeaderId ?? "",
        members: [],
      });
    }
    const answer = this.rebalance.awaitJoin(group, replacement);
    this.rebalance.maybePrepareRebalance(
      group,
      `static member ${input.groupInstanceId} rejoined with changed protocols`,
    );
    this.rebalance.tryCompleteJoin(group);
    return answer;
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
        this.rebalance.touchSession(group, member);
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
        this.rebalance.prepareRebalance(group, "the leader's assignment was too large");
        return Promise.resolve(syncError(ErrorCode.INVALID_REQUEST));
      }
    }
    this.rebalance.answerSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    const answer = new Promise<SyncGroupResult>((resolve) => {
      member.syncWaiter = resolve;
    });
    this.rebalance.cancelSession(group, member.memberId);
    if (member.memberId === group.leaderId) {
      const assigned = new Map(input.assignments.map((entry) => [entry.memberId, entry.assignment]));
      for (const each of group.members.values()) {
        const assignment = assigned.get(each.memberId);
        each.assignment = assignment === undefined ? NO_BYTES : Buffer.from(assignment);
      }
      group.state = "Stable";
      this.rebalance.cancelSyncDeadline(group);
      this.context.logger.info(
        { groupId: group.groupId, generationId: group.generationId, members: group.members.size },
        "group is stable",
      );
      for (const each of group.members.values()) {
        if (this.rebalance.answerSync(each, this.syncAnswer(group, each))) this.rebalance.touchSession(group, each);
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
    this.rebalance.touchSession(group, member);
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
    } else if (this.rebalance.takePendingMember(group, memberId)) {
      this.rebalance.tryCompleteJoin(group);
      return ErrorCode.NONE;
    }
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.context.logger.info({ groupId: group.groupId, memberId, reason: identity.reason }, "member left group");
    this.rebalance.removeMemberAndUpdateGroup(group, member, `member ${memberId} left`);
    return ErrorCode.NONE;
  }
}
