// The "consumer" group protocol's two payloads, which travel inside JoinGroup, SyncGroup and DescribeGroups as opaque
// bytes: a member's subscription and its assignment. Each starts with an INT16 version; later versions only append
// fields, so a reader that knows fewer versions reads the prefix it knows.

import { decodeMessage, encodeMessage } from "./codec.js";
import {
  ConsumerProtocolAssignmentSchema,
  ConsumerProtocolSubscriptionSchema,
  type ConsumerProtocolAssignment,
  type ConsumerProtocolSubscription,
} from "./messages/index.js";
import { Reader, Writer } from "./primitives.js";
import type { MessageSchema } from "./schema.js";

export const CONSUMER_PROTOCOL_TYPE = "consumer";

function decodeVersioned<T>(schema: MessageSchema, bytes: Buffer): T | null {
  try {
    const reader = new Reader(bytes);
    const version = reader.int16();
    if (version < 0) return null;
    return decodeMessage<T>(schema, Math.min(version, schema.validVersions[1]), reader);
  } catch {
    return null;
  }
}

function encodeVersioned<T>(schema: MessageSchema, version: number, value: T): Buffer {
  const writer = new Writer(64);
  writer.int16(version);
  encodeMessage(schema, version, value, writer);
  return Buffer.from(writer.finish());
}

/** A member's subscription, or null when the bytes are not one this codec can read. */
export function decodeConsumerSubscription(bytes: Buffer): ConsumerProtocolSubscription | null {
  return decodeVersioned<ConsumerProtocolSubscription>(ConsumerProtocolSubscriptionSchema, bytes);
}

/** A member's assignment, or null when the bytes are not one this codec can read (an empty assignment is empty). */
export function decodeConsumerAssignment(bytes: Buffer): ConsumerProtocolAssignment | null {
  if (bytes.length === 0) return { assignedPartitions: [], userData: null };
  return decodeVersioned<ConsumerProtocolAssignment>(ConsumerProtocolAssignmentSchema, bytes);
}

export function encodeConsumerSubscription(subscription: ConsumerProtocolSubscription, version = 1): Buffer {
  return encodeVersioned(ConsumerProtocolSubscriptionSchema, version, subscription);
}

export function encodeConsumerAssignment(assignment: ConsumerProtocolAssignment, version = 1): Buffer {
  return encodeVersioned(ConsumerProtocolAssignmentSchema, version, assignment);
}
