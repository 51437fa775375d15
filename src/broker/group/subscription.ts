// Reads the topics a member subscribes to out of its "consumer" protocol metadata, which the broker otherwise
// treats as opaque bytes. OffsetDelete needs them to refuse deleting offsets a live group still consumes.

import { decodeConsumerSubscription } from "../../kafka/protocol/consumer-protocol.js";

export { CONSUMER_PROTOCOL_TYPE } from "../../kafka/protocol/consumer-protocol.js";

/** The subscribed topics, or null when the metadata is not a consumer subscription this broker can read. */
export function decodeSubscribedTopics(metadata: Buffer): string[] | null {
  return decodeConsumerSubscription(metadata)?.topics ?? null;
}
