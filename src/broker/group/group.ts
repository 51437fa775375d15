// One consumer group's state: its members, generation, leader and chosen protocol, with the questions the
// coordinator asks of it (is everyone back, which protocol do all members support). The transitions themselves
// live in the coordinator, which owns the clocks and the log.

import { CONSUMER_PROTOCOL_TYPE, decodeSubscribedTopics } from "./subscription.js";
import type { GroupState, JoinGroupResult, MemberProtocol, SyncGroupResult } from "./types.js";

const NO_BYTES = Buffer.alloc(0);

export interface MemberSettings {
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: MemberProtocol[];
}

export class GroupMember {
  assignment: Buffer = NO_BYTES;
  /** Resolves this member's JoinGroup while the join phase runs. */
  joinWaiter: ((result: JoinGroupResult) => void) | null = null;
  /** Resolves this member's SyncGroup while it waits for the leader's. */
  syncWaiter: ((result: SyncGroupResult) => void) | null = null;

  constructor(
    readonly memberId: string,
    readonly groupInstanceId: string | null,
    public settings: MemberSettings,
  ) {}

  get isAwaitingJoin(): boolean {
    return this.joinWaiter !== null;
  }

  get isAwaitingSync(): boolean {
    return this.syncWaiter !== null;
  }

  metadataFor(protocolName: string | null): Buffer {
    if (protocolName === null) return NO_BYTES;
    return this.settings.protocols.find((protocol) => protocol.name === protocolName)?.metadata ?? NO_BYTES;
  }

  /** Whether a rejoin with these protocols changes nothing the leader would assign from. */
  hasSameProtocols(protocolType: string, protocols: readonly MemberProtocol[]): boolean {
    const own = this.settings.protocols;
    return (
      this.settings.protocolType === protocolType &&
      own.length === protocols.length &&
      own.every(
        (protocol, i) => protocol.name === protocols[i]!.name && protocol.metadata.equals(protocols[i]!.metadata),
      )
    );
  }
}

export class ConsumerGroup {
  state: GroupState = "Empty";
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, GroupMember>();
  /** Member ids handed out with MEMBER_ID_REQUIRED whose second JoinGroup has not arrived yet. */
  readonly pendingMemberIds = new Set<string>();
  /** The topics the members of this generation subscribe to; null when some subscription could not be read. */
  subscribedTopics: Set<string> | null = new Set();
  /** When the group was created, last became Empty or was loaded: an empty group's offsets expire counting from it. */
  emptySinceMs = 0;
  /** The join phase may not complete before this (the initial rebalance delay of a group that was empty). */
  joinNotBeforeMs = 0;
  /** When the join phase started and when it gives up on members that have not rejoined. */
  rebalanceStartMs = 0;
  rebalanceDeadlineMs = 0;
  private readonly staticMemberIds = new Map<string, string>();

  constructor(readonly groupId: string) {}

  /** Members plus pending members: what the group size limit counts. */
  get size(): number {
    return this.members.size + this.pendingMemberIds.size;
  }

  staticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMemberIds.get(groupInstanceId);
  }

  /** A request naming a known instance id with another member id comes from a member that was replaced. */
  isStaticMemberFenced(memberId: string, groupInstanceId: string | null): boolean {
    if (groupInstanceId === null) return false;
    const current = this.staticMemberIds.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  add(member: GroupMember): void {
    if (this.members.size === 0) this.protocolType = member.settings.protocolType;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMemberIds.set(member.groupInstanceId, member.memberId);
    if (this.leaderId === null) this.leaderId = member.memberId;
  }

  remove(memberId: string): GroupMember | undefined {
    const member = this.members.get(memberId);
    if (member === undefined) return undefined;
    this.members.delete(memberId);
    if (member.groupInstanceId !== null && this.staticMemberIds.get(member.groupInstanceId) === memberId) {
      this.staticMemberIds.delete(member.groupInstanceId);
    }
    if (this.leaderId === memberId) this.leaderId = this.electLeader();
    return member;
  }

  /** Puts a static member's new incarnation in the old one's place, keeping its assignment and leadership. */
  replace(oldMemberId: string, replacement: GroupMember): GroupMember | undefined {
    const old = this.members.get(oldMemberId);
    if (old === undefined) return undefined;
    this.members.delete(oldMemberId);
    replacement.assignment = old.assignment;
    this.members.set(replacement.memberId, replacement);
    if (replacement.groupInstanceId !== null) {
      this.staticMemberIds.set(replacement.groupInstanceId, replacement.memberId);
    }
    if (this.leaderId === oldMemberId) this.leaderId = replacement.memberId;
    return old;
  }

  /** A member that has rejoined, preferring the current leader, or null when none has. */
  electLeader(): string | null {
    if (this.leaderId !== null && this.members.get(this.leaderId)?.isAwaitingJoin === true) return this.leaderId;
    for (const member of this.members.values()) if (member.isAwaitingJoin) return member.memberId;
    const first = this.members.keys().next();
    return first.done === true ? null : first.value;
  }

  allMembersJoined(): boolean {
    if (this.pendingMemberIds.size > 0) return false;
    for (const member of this.members.values()) if (!member.isAwaitingJoin) return false;
    return true;
  }

  maxRebalanceTimeoutMs(): number {
    let max = 0;
    for (const member of this.members.values()) max = Math.max(max, member.settings.rebalanceTimeoutMs);
    return max;
  }

  /**
   * Whether a member offering these protocols can be in the group with everyone else: the same protocol type and at
   * least one protocol every other member supports. A member's own earlier offer does not count against it.
   */
  supportsProtocols(memberId: string, protocolType: string, protocolNames: readonly string[]): boolean {
    if (protocolType === "" || protocolNames.length === 0) return false;
    const others = [...this.members.values()].filter((member) => member.memberId !== memberId);
    if (others.length === 0) return true;
    if (others.some((member) => member.settings.protocolType !== protocolType)) return false;
    return protocolNames.some((name) =>
      others.every((member) => member.settings.protocols.some((protocol) => protocol.name === name)),
    );
  }

  /**
   * The protocol for the next generation: among the protocols every member supports, each member votes for the one
   * it lists first, and the most votes win. Ties go to the leader's preference order.
   */
  selectProtocol(): string | null {
    const members = [...this.members.values()];
    if (members.length === 0) return null;
    const candidates = members[0]!.settings.protocols
      .map((protocol) => protocol.name)
      .filter((name) =>
        members.every((member) => member.settings.protocols.some((protocol) => protocol.name === name)),
      );
    if (candidates.length === 0) return null;
    const votes = new Map<string, number>(candidates.map((name) => [name, 0]));
    for (const member of members) {
      const choice = member.settings.protocols.find((protocol) => votes.has(protocol.name))!.name;
      votes.set(choice, votes.get(choice)! + 1);
    }
    const leader = this.leaderId === null ? undefined : this.members.get(this.leaderId);
    const preference = (leader ?? members[0]!).settings.protocols.map((protocol) => protocol.name);
    let best: string | null = null;
    for (const name of preference) {
      const count = votes.get(name);
      if (count !== undefined && (best === null || count > votes.get(best)!)) best = name;
    }
    return best;
  }

  /** Reads the members' subscriptions for the chosen protocol, when the group uses the consumer protocol. */
  refreshSubscribedTopics(): void {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) {
      this.subscribedTopics = this.members.size === 0 ? new Set() : null;
      return;
    }
    const topics = new Set<string>();
    for (const member of this.members.values()) {
      const subscribed = decodeSubscribedTopics(member.metadataFor(this.protocolName));
      if (subscribed === null) {
        this.subscribedTopics = null;
        return;
      }
      for (const topic of subscribed) topics.add(topic);
    }
    this.subscribedTopics = topics;
  }

  isSubscribedTo(topic: string): boolean {
    return this.subscribedTopics === null || this.subscribedTopics.has(topic);
  }
}
