// The rebalance state machine of a consumer group: PreparingRebalance (the join phase, waiting for every member to
// rejoin, after an initial delay for a starting fleet) → CompletingRebalance (the sync phase, waiting for the
// leader's assignment) → Stable, with the deadlines that drive it: sessions, the rebalance timeout of each phase and
// members told to rejoin with their new ids. membership.ts turns requests into these steps.

import type { Logger } from "pino";
import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import type { BrokerConfig } from "../config.js";
import type { DeadlineQueue } from "./deadlines.js";
import type { ConsumerGroup, GroupMember } from "./group.js";
import type { GroupLimits } from "./limits.js";
import type { JoinGroupResult, SyncGroupResult } from "./types.js";

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
  /** A group with members began a rebalance; topics are what they read (null when not known). */
  rebalanceStarted(topics: ReadonlySet<string> | null): void;
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

export class GroupRebalance {
  constructor(private readonly context: MembershipContext) {}

  /** A member told to rejoin with its new id (MEMBER_ID_REQUIRED) is forgotten unless it does within timeoutMs. */
  addPendingMember(group: ConsumerGroup, memberId: string, timeoutMs: number): void {
    group.pendingMemberIds.add(memberId);
    this.context.deadlines.schedule(pendingKey(group.groupId, memberId), this.context.now() + timeoutMs, () =>
      this.expirePendingMember(group, memberId),
    );
  }

  /** True when memberId was pending, and is no longer. */
  takePendingMember(group: ConsumerGroup, memberId: string): boolean {
    if (!group.pendingMemberIds.delete(memberId)) return false;
    this.context.deadlines.cancel(pendingKey(group.groupId, memberId));
    return true;
  }

  cancelSession(group: ConsumerGroup, memberId: string): void {
    this.context.deadlines.cancel(sessionKey(group.groupId, memberId));
  }

  /** The sync phase is over: the leader's assignment came in time. */
  cancelSyncDeadline(group: ConsumerGroup): void {
    this.context.deadlines.cancel(syncKey(group.groupId));
  }

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

  awaitJoin(group: ConsumerGroup, member: GroupMember): Promise<JoinGroupResult> {
    // A second JoinGroup from the same member replaces the first; the first is told to retry.
    this.answerJoin(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    const answer = new Promise<JoinGroupResult>((resolve) => {
      member.joinWaiter = resolve;
    });
    // A member waiting for the join phase is alive by definition.
    this.context.deadlines.cancel(sessionKey(group.groupId, member.memberId));
    return answer;
  }

  maybePrepareRebalance(group: ConsumerGroup, reason: string): void {
    if (group.state === "Stable" || group.state === "CompletingRebalance" || group.state === "Empty") {
      this.prepareRebalance(group, reason);
    }
  }

  prepareRebalance(group: ConsumerGroup, reason: string): void {
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
    // The members' fetches waiting on their topics are answered now: a member hears of a rebalance from its next
    // heartbeat, and Sluice's client sends one as soon as a fetch comes back early without records.
    if (!wasEmpty && group.members.size > 0) this.context.rebalanceStarted(group.subscribedTopics);
    // A group whose last member just left has nobody to wait for.
    this.tryCompleteJoin(group);
  }

  scheduleJoinDelay(group: ConsumerGroup): void {
    if (group.joinNotBeforeMs <= this.context.now()) return;
    this.context.deadlines.schedule(joinDelayKey(group.groupId), group.joinNotBeforeMs, () =>
      this.tryCompleteJoin(group),
    );
  }

  tryCompleteJoin(group: ConsumerGroup): void {
    if (group.state !== "PreparingRebalance" || !this.context.isCurrent(group)) return;
    if (group.allMembersJoined() && this.context.now() >= group.joinNotBeforeMs) this.completeJoin(group);
  }

  private onJoinTimeout(group: ConsumerGroup): void {
    if (group.state !== "PreparingRebalance" || !this.context.isCurrent(group)) return;
    this.removeMembersNotWaiting(group, "join", "member did not rejoin within the rebalance timeout; removing it");
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
    this.removeMembersNotWaiting(
      group,
      "sync",
      "member did not send SyncGroup within the rebalance timeout; removing it",
    );
    this.prepareRebalance(group, "members did not send SyncGroup in time");
  }

  joinAnswer(group: ConsumerGroup, member: GroupMember): JoinGroupResult {
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

  removeMemberAndUpdateGroup(group: ConsumerGroup, member: GroupMember, reason: string): void {
    this.removeMember(group, member);
    if (group.state === "Stable" || group.state === "CompletingRebalance") this.prepareRebalance(group, reason);
    else if (group.state === "PreparingRebalance") this.tryCompleteJoin(group);
  }

  /** Removes the members that are not waiting in the given phase, once its rebalance timeout has passed. */
  private removeMembersNotWaiting(group: ConsumerGroup, phase: "join" | "sync", message: string): void {
    for (const member of [...group.members.values()]) {
      if (phase === "join" ? member.isAwaitingJoin : member.isAwaitingSync) continue;
      this.context.logger.info({ groupId: group.groupId, memberId: member.memberId }, message);
      this.removeMember(group, member);
    }
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

  answerJoin(member: GroupMember, result: JoinGroupResult): boolean {
    const waiter = member.joinWaiter;
    if (waiter === null) return false;
    member.joinWaiter = null;
    waiter(result);
    return true;
  }

  answerSync(member: GroupMember, result: SyncGroupResult): boolean {
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
