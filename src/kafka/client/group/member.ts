// One member's life in a consumer group: joining (JoinGroup, then SyncGroup with the leader's assignment), heartbeats
// while it holds its partitions, noticing when it must rejoin, and leaving. The coordinator ends a generation by
// answering REBALANCE_IN_PROGRESS (rejoin, the generation may still commit), ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID
// (the member's partitions are gone; an unknown member joins again as a new one). A coordinator that moved is found
// again; a member that could not heartbeat for a whole session timeout takes itself for removed. An idle member (its
// consumer's fetches come back empty) heartbeats less often, and at once when its consumer asks (a fetch that came back
// early and empty: Sluice's broker answers those of a group that begins a rebalance). Retriable failures
// are retried with backoff for as long as the member runs, and reported after retriesMax in a row.

import { ErrorCode } from "../../protocol/error-codes.js";
import type { TopicPartition } from "../admin/offsets.js";
import { isStaleCoordinatorError, type KafkaCluster, type Lane } from "../cluster/cluster.js";
import { isRetriable, KafkaBrokerError, KafkaClientClosedError, KafkaClientError } from "../errors.js";
import { assignorOf, assignPartitions, protocolNames } from "./assignors.js";
import { isGenerationEnded } from "./commit.js";
import {
  heartbeat,
  joinGroup,
  leaveGroup,
  MemberIdRequiredError,
  syncGroup,
  type MemberIdentity,
  type JoinAnswer,
} from "./membership.js";
import type { ResolvedGroupOptions } from "./options.js";
import { Signal } from "./signal.js";

/** Rejoins after an ended generation that go out at once, before the member backs off between tries. */
export const IMMEDIATE_REJOINS_MAX = 3;

export interface MemberListener {
  /** The member must rejoin (the loop should finish its batches and call join()). */
  rejoinNeeded(reason: string): void;
  /** A failure: `willRetry` false when the member cannot go on (it is no longer in the group). */
  failed(error: KafkaClientError, willRetry: boolean): void;
}

export class GroupMember {
  memberId = "";
  generationId = -1;
  protocolName = "";
  /** Why the member must rejoin, or null while its generation stands. */
  rejoinReason: string | null = null;
  /** True once the coordinator said the generation is over for this member: its partitions are someone else's. */
  generationLost = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  /** When the scheduled heartbeat goes out (performance.now()). */
  private heartbeatDueMs = 0;
  private heartbeatInFlight = false;
  /** heartbeatNow() was called while a heartbeat was in flight: another goes out when it is answered. */
  private heartbeatAgain = false;
  private idle = false;
  private lastHeartbeatOkMs = 0;
  private leaving = false;
  private readonly stopped = new Signal();

  constructor(
    private readonly cluster: KafkaCluster,
    private readonly options: ResolvedGroupOptions,
    private readonly lane: Lane,
    private readonly listener: MemberListener,
  ) {}

  identity(): MemberIdentity {
    return { groupId: this.options.groupId, memberId: this.memberId, generationId: this.generationId };
  }

  /** Joins (or rejoins) the group and returns this member's partitions; retries until it succeeds or cannot. */
  async join(): Promise<TopicPartition[]> {
    this.stopHeartbeats();
    this.idle = false;
    let failures = 0;
    let rejoins = 0;
    for (;;) {
      if (this.leaving || this.cluster.closed) throw new KafkaClientClosedError("the group consumer");
      try {
        const partitions = await this.joinOnce();
        this.rejoinReason = null;
        this.generationLost = false;
        this.lastHeartbeatOkMs = Date.now();
        this.scheduleHeartbeat();
        return partitions;
      } catch (error) {
        if (!(error instanceof KafkaClientError)) throw error;
        if (error instanceof MemberIdRequiredError) {
          this.memberId = error.memberId;
          continue;
        }
        if (error instanceof KafkaBrokerError && error.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = "";
        if (isStaleCoordinatorError(error)) this.cluster.forgetCoordinator(this.options.groupId);
        if (isGenerationEnded(error) && rejoins++ < IMMEDIATE_REJOINS_MAX) continue;
        if (!isRetriable(error) && !isGenerationEnded(error)) throw error;
        failures++;
        if (failures > this.cluster.options.retriesMax) this.listener.failed(error, true);
        await this.pause(this.cluster.backoffMs(Math.min(failures - 1, 10)));
      }
    }
  }

  private async joinOnce(): Promise<TopicPartition[]> {
    const { groupId, sessionTimeoutMs, rebalanceTimeoutMs, topics, assignors } = this.options;
    const requestTimeoutMs = this.cluster.options.requestTimeoutMs;
    const connection = await this.cluster.groupCoordinator(groupId, this.lane);
    const joined = await joinGroup(connection, {
      groupId,
      memberId: this.memberId,
      sessionTimeoutMs,
      rebalanceTimeoutMs,
      topics,
      protocols: protocolNames(assignors),
      reason: this.rejoinReason,
      requestTimeoutMs,
    });
    this.memberId = joined.memberId;
    this.generationId = joined.generationId;
    this.protocolName = joined.protocolName;
    const assignments =
      joined.leaderId === joined.memberId ? await this.assign(joined) : new Map<string, TopicPartition[]>();
    return syncGroup(connection, {
      groupId,
      memberId: this.memberId,
      generationId: this.generationId,
      protocolName: joined.protocolName,
      assignments,
      requestTimeoutMs,
      rebalanceTimeoutMs,
    });
  }

  /** The leader's work: every member's partitions, from their subscriptions and the topics' partition counts. */
  private async assign(joined: JoinAnswer): Promise<Map<string, TopicPartition[]>> {
    const assignor = assignorOf(joined.protocolName);
    if (assignor === null) {
      throw new KafkaBrokerError(
        ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
        `assigning the partitions of group "${this.options.groupId}"`,
        `the group chose the assignor "${joined.protocolName}", which this client does not have`,
      );
    }
    const topics = [...new Set(joined.members.flatMap((member) => member.topics))];
    const counts = new Map<string, number>();
    for (const [topic, lookup] of await this.cluster.refreshMetadata(topics)) {
      if (lookup.kind === "found") counts.set(topic, lookup.topic.partitions.length);
    }
    return assignPartitions(assignor, joined.members, counts);
  }

  /**
   * Whether the member's fetches come back empty: an idle member heartbeats every idleHeartbeatIntervalMs instead of
   * heartbeatIntervalMs. A member that has records again heartbeats at the shorter interval from now on.
   */
  setIdle(idle: boolean): void {
    if (this.idle === idle) return;
    this.idle = idle;
    const intervalMs = this.options.heartbeatIntervalMs;
    if (!idle && this.heartbeatTimer !== null && this.heartbeatDueMs - performance.now() > intervalMs) {
      this.scheduleHeartbeat();
    }
  }

  /** Heartbeats now (the consumer suspects a rebalance) instead of when the interval runs out. */
  heartbeatNow(): void {
    if (this.heartbeatInFlight) {
      this.heartbeatAgain = true;
      return;
    }
    // No heartbeat is scheduled while the member joins, rejoins or leaves.
    if (this.heartbeatTimer === null) return;
    this.stopHeartbeats();
    void this.beat();
  }

  private scheduleHeartbeat(): void {
    this.stopHeartbeats();
    const intervalMs = this.idle ? this.options.idleHeartbeatIntervalMs : this.options.heartbeatIntervalMs;
    this.heartbeatDueMs = performance.now() + intervalMs;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = null;
      void this.beat();
    }, intervalMs);
  }

  private async beat(): Promise<void> {
    this.heartbeatInFlight = true;
    this.heartbeatAgain = false;
    try {
      await this.beatOnce();
    } finally {
      this.heartbeatInFlight = false;
    }
    // Asked for while this one was in flight: the coordinator may have begun a rebalance after answering it.
    if (this.heartbeatAgain) this.heartbeatNow();
  }

  private async beatOnce(): Promise<void> {
    const generationId = this.generationId;
    try {
      await heartbeat(await this.cluster.groupCoordinator(this.options.groupId, this.lane), this.identity());
      this.lastHeartbeatOkMs = Date.now();
    } catch (error) {
      if (this.leaving || this.cluster.closed || generationId !== this.generationId) return;
      if (!(error instanceof KafkaClientError)) throw error;
      if (isGenerationEnded(error)) {
        const code = (error as KafkaBrokerError).errorCode;
        if (code !== ErrorCode.REBALANCE_IN_PROGRESS) this.generationLost = true;
        if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = "";
        this.requestRejoin((error as KafkaBrokerError).errorName);
        return;
      }
      if (!isRetriable(error)) {
        this.listener.failed(error, false);
        return;
      }
      if (isStaleCoordinatorError(error)) this.cluster.forgetCoordinator(this.options.groupId);
      if (Date.now() - this.lastHeartbeatOkMs >= this.options.sessionTimeoutMs) {
        // The coordinator has removed the member by now; its partitions are being handed to others.
        this.generationLost = true;
        this.requestRejoin(`no heartbeat got through for the session timeout (${error.message})`);
        return;
      }
    }
    if (this.rejoinReason === null && !this.leaving && generationId === this.generationId) this.scheduleHeartbeat();
  }

  private requestRejoin(reason: string): void {
    if (this.rejoinReason !== null) return;
    this.rejoinReason = reason;
    this.stopHeartbeats();
    this.listener.rejoinNeeded(reason);
  }

  stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  /** Leaves the group (its partitions go to the others at once); the member cannot join again afterwards. */
  async leave(reason = "the consumer is stopping"): Promise<void> {
    this.leaving = true;
    this.stopped.notify();
    this.stopHeartbeats();
    const memberId = this.memberId;
    if (memberId === "" || this.cluster.closed) return;
    try {
      // Not on the member's own lane, where a JoinGroup may be held for a rebalance.
      const connection = await this.cluster.groupCoordinator(this.options.groupId, "admin");
      await leaveGroup(connection, { groupId: this.options.groupId, memberId, reason });
    } catch (error) {
      // A member the coordinator no longer knows has left already.
      if (error instanceof KafkaBrokerError && error.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) return;
      throw error;
    }
  }

  /** Waits `ms`, or less when the member leaves meanwhile. */
  private async pause(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, ms))), this.stopped.next()]);
    clearTimeout(timer);
  }
}
