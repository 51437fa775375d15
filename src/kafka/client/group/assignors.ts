// The partition assignors a group's leader runs: Kafka's "range" and "roundrobin", under the protocol names Kafka's
// Java client and librdkafka use, so members of those clients can share a group with Sluice's. kafkajs names its
// round-robin assignor "RoundRobinAssigner"; it is offered as well, so a kafkajs member with its default assignor can
// share a group too. The leader computes every member's partitions from the members' subscriptions.

import type { TopicPartition } from "../admin/offsets.js";

export const ASSIGNOR_NAMES = ["roundrobin", "range"] as const;
export type AssignorName = (typeof ASSIGNOR_NAMES)[number];

/** kafkajs's protocol name for the same round-robin assignment. */
export const KAFKAJS_ROUND_ROBIN_PROTOCOL = "RoundRobinAssigner";

export interface MemberSubscription {
  readonly memberId: string;
  readonly topics: readonly string[];
}

/** The protocol names a member offers for its assignors, in order of preference. */
export function protocolNames(assignors: readonly AssignorName[]): string[] {
  return assignors.flatMap((name) => (name === "roundrobin" ? [name, KAFKAJS_ROUND_ROBIN_PROTOCOL] : [name]));
}

/** The assignor behind a protocol name the coordinator chose, or null for one this client does not have. */
export function assignorOf(protocolName: string): AssignorName | null {
  if (protocolName === KAFKAJS_ROUND_ROBIN_PROTOCOL) return "roundrobin";
  return (ASSIGNOR_NAMES as readonly string[]).includes(protocolName) ? (protocolName as AssignorName) : null;
}

const byText = (left: string, right: string): number => (left < right ? -1 : left > right ? 1 : 0);

/**
 * Every member's partitions. `partitionCounts` has the partition count of each subscribed topic that exists; topics
 * missing from it (not created yet) are assigned to no one. Members are ordered by id, so every leader computes the
 * same answer from the same input.
 */
export function assignPartitions(
  assignor: AssignorName,
  members: readonly MemberSubscription[],
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, TopicPartition[]> {
  const sorted = [...members].sort((left, right) => byText(left.memberId, right.memberId));
  const assignment = new Map<string, TopicPartition[]>(sorted.map((member) => [member.memberId, []]));
  const topics = [...new Set(sorted.flatMap((member) => member.topics))]
    .filter((topic) => (partitionCounts.get(topic) ?? 0) > 0)
    .sort(byText);
  const subscribers = (topic: string): MemberSubscription[] => sorted.filter((member) => member.topics.includes(topic));
  if (assignor === "range") {
    // Each topic on its own: its partitions split into contiguous ranges, the first members taking one more.
    for (const topic of topics) {
      const members = subscribers(topic);
      const count = partitionCounts.get(topic)!;
      const share = Math.floor(count / members.length);
      const extra = count % members.length;
      let next = 0;
      members.forEach((member, index) => {
        const take = share + (index < extra ? 1 : 0);
        for (let partition = next; partition < next + take; partition++) {
          assignment.get(member.memberId)!.push({ topic, partition });
        }
        next += take;
      });
    }
    return assignment;
  }
  // Round robin: every topic's partitions in order, each to the next member (in a circle) that subscribes to it.
  let cursor = 0;
  for (const topic of topics) {
    const count = partitionCounts.get(topic)!;
    for (let partition = 0; partition < count; partition++) {
      for (let tried = 0; tried < sorted.length; tried++) {
        const member = sorted[cursor % sorted.length]!;
        cursor++;
        if (member.topics.includes(topic)) {
          assignment.get(member.memberId)!.push({ topic, partition });
          break;
        }
      }
    }
  }
  return assignment;
}
