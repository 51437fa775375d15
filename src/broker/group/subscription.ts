// Reads the topics a member subscribes to out of its "consumer" protocol metadata, which the broker otherwise
// treats as opaque bytes. OffsetDelete needs them to refuse deleting offsets a live group still consumes.

import { decodeMessage } from "../../kafka/protocol/codec.js";
import {
  ConsumerProtocolSubscriptionSchema,
  type ConsumerProtocolSubscription,
} from "../../kafka/protocol/messages/index.js";
import { Reader } from "../../kafka/protocol/primitives.js";

export const CONSUMER_PROTOCOL_TYPE = "consumer";

/** The subscribed topics, or null when the metadata is not a consumer subscription this broker can read. */
export function decodeSubscribedTopics(metadata: Buffer): string[] | null {
  try {
    const reader = new Reader(metadata);
    const version = reader.int16();
    if (version < 0) return null;
    // Later versions only append fields, so the newest known version reads their prefix.
    const readVersion = Math.min(version, ConsumerProtocolSubscriptionSchema.validVersions[1]);
    const subscription = decodeMessage<ConsumerProtocolSubscription>(
      ConsumerProtocolSubscriptionSchema,
      readVersion,
      reader,
    );
    return subscription.topics;
  } catch {
    return null;
  }
}
