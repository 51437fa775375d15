// The client's view of a cluster: bootstrap, the metadata cache, one connection per broker and lane, routing to a
// partition's leader or a group's coordinator, and retries. Lanes keep requests that wait on the broker (a Fetch
// long-poll, a JoinGroup held for a rebalance) from delaying unrelated ones, because a broker answers the requests of
// one connection strictly in order. A retriable failure is tried again after a bounded, growing, jittered backoff;
// the callers say what to forget first (a leader, a coordinator) so the next attempt looks it up afresh.

import { ErrorCode } from "../../protocol/error-codes.js";
import { Api } from "../apis/definitions.js";
import {
  KafkaBrokerError,
  KafkaClientClosedError,
  KafkaClientError,
  KafkaClientErrorCode,
  KafkaConnectionError,
  KafkaPartitionUnknownError,
  KafkaTopicUnknownError,
  isRetriable,
} from "../errors.js";
import type { BrokerConnection } from "../network/connection.js";
import { openConnection } from "../network/handshake.js";
import {
  resolveClientOptions,
  type BrokerAddress,
  type KafkaClientOptions,
  type ResolvedClientOptions,
} from "../options.js";
import { ClusterMetadata, type PartitionMetadata, type TopicLookup, type TopicMetadata } from "./metadata.js";

/**
 * Which connection to a broker a request travels on; each lane has its own. A group consumer has lanes of its own
 * ("fetch:<n>", "group:<n>"), so that its long-polls and its JoinGroup, which the broker holds for a rebalance, never
 * delay another consumer's heartbeats or fetches made from the same client.
 */
export type Lane = "admin" | "produce" | "fetch" | "group" | `fetch:${number}` | `group:${number}`;

/** Broker error codes after which a partition's leader must be looked up again. */
const STALE_LEADER_CODES: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.BROKER_NOT_AVAILABLE,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.UNKNOWN_TOPIC_ID,
]);

/** Broker error codes after which a group's coordinator must be looked up again. */
const STALE_COORDINATOR_CODES: ReadonlySet<number> = new Set([
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);

export function isStaleLeaderError(error: unknown): boolean {
  return (
    error instanceof KafkaConnectionError ||
    (error instanceof KafkaBrokerError && STALE_LEADER_CODES.has(error.errorCode))
  );
}

export function isStaleCoordinatorError(error: unknown): boolean {
  return (
    error instanceof KafkaConnectionError ||
    (error instanceof KafkaBrokerError && STALE_COORDINATOR_CODES.has(error.errorCode))
  );
}

export interface RetryOptions {
  /**
   * Whether a request the connection had already sent may be sent again when its connection failed: true for reads
   * and operations the broker refuses to repeat; false where a repeat could write twice.
   */
  readonly resendable?: boolean;
  /** Runs before each new attempt with the failure that caused it: forget what the failure made stale. */
  readonly beforeRetry?: (error: KafkaClientError) => void;
}

const ZERO_UUID = Buffer.alloc(16);

export class KafkaCluster {
  readonly options: ResolvedClientOptions;
  readonly metadata = new ClusterMetadata();
  private readonly connections = new Map<string, Promise<BrokerConnection>>();
  private readonly coordinators = new Map<string, BrokerAddress>();
  private readonly wakeOnClose = new Set<() => void>();
  private closedFlag = false;

  constructor(options: KafkaClientOptions) {
    this.options = resolveClientOptions(options);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  assertOpen(): void {
    if (this.closedFlag) throw new KafkaClientClosedError();
  }

  /** The connection to one broker on one lane, opened (with negotiation and SASL) on first use. */
  connection(address: BrokerAddress, lane: Lane): Promise<BrokerConnection> {
    this.assertOpen();
    const key = `${address.host}:${address.port}/${lane}`;
    const existing = this.connections.get(key);
    if (existing !== undefined) return existing;
    const opening: Promise<BrokerConnection> = openConnection({
      ...this.options,
      host: address.host,
      port: address.port,
    }).then(
      (connection) => {
        this.options.logger.debug({ broker: key }, "kafka connection opened");
        connection.onClose((error) => {
          if (this.connections.get(key) === opening) this.connections.delete(key);
          if (!this.closedFlag) this.options.logger.debug({ broker: key, err: error }, "kafka connection closed");
        });
        if (this.closedFlag) connection.close(new KafkaClientClosedError());
        return connection;
      },
      (error: unknown) => {
        if (this.connections.get(key) === opening) this.connections.delete(key);
        throw error;
      },
    );
    this.connections.set(key, opening);
    return opening;
  }

  /** A connection to any reachable broker: known brokers first, then the bootstrap list. */
  async anyConnection(lane: Lane): Promise<BrokerConnection> {
    this.assertOpen();
    const candidates = [...this.metadata.brokers.values(), ...this.options.bootstrapBrokers];
    const seen = new Set<string>();
    let lastError: unknown = null;
    for (const address of candidates) {
      const key = `${address.host}:${address.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      try {
        return await this.connection(address, lane);
      } catch (error) {
        if (!(error instanceof KafkaConnectionError)) throw error;
        lastError = error;
      }
    }
    throw new KafkaConnectionError(
      KafkaClientErrorCode.CONNECTION_FAILED,
      `no broker of ${[...seen].join(", ")} could be reached` +
        (lastError instanceof Error ? ` (last: ${lastError.message})` : "") +
        "; start one with `sluice broker`, or check the bootstrap addresses",
      [...seen].join(","),
      false,
      { cause: lastError },
    );
  }

  async nodeConnection(nodeId: number, lane: Lane): Promise<BrokerConnection> {
    let node = this.metadata.brokers.get(nodeId);
    if (node === undefined) {
      await this.refreshMetadata([]);
      node = this.metadata.brokers.get(nodeId);
    }
    if (node === undefined) {
      throw new KafkaBrokerError(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${nodeId} is not in the cluster's metadata`);
    }
    return this.connection(node, lane);
  }

  /** Asks for metadata (null: every topic) and folds it into the cache; retried like any request. */
  refreshMetadata(
    topics: readonly string[] | null,
    options: { allowAutoTopicCreation?: boolean } = {},
  ): Promise<Map<string, TopicLookup>> {
    return this.retry(async () => {
      const connection = await this.anyConnection("admin");
      const response = await connection.request(Api.Metadata, {
        topics: topics === null ? null : topics.map((name) => ({ name, topicId: ZERO_UUID })),
        allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      return this.metadata.update(response, Date.now());
    });
  }

  /** A topic's metadata, from the cache while it is fresh. Throws KafkaTopicUnknownError for a missing topic. */
  async topic(name: string, options: { refresh?: boolean } = {}): Promise<TopicMetadata> {
    const cached = this.metadata.topic(name);
    if (
      options.refresh !== true &&
      cached !== undefined &&
      Date.now() - cached.fetchedAtMs < this.options.metadataMaxAgeMs
    ) {
      return cached;
    }
    const lookup = (await this.refreshMetadata([name])).get(name);
    if (
      lookup === undefined ||
      (lookup.kind === "error" && lookup.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    ) {
      throw new KafkaTopicUnknownError(name);
    }
    if (lookup.kind === "error") throw new KafkaBrokerError(lookup.errorCode, `metadata of topic "${name}"`);
    return lookup.topic;
  }

  /** The partition's metadata with a leader; retriable LEADER_NOT_AVAILABLE while it has none. */
  async partition(topic: string, partition: number): Promise<PartitionMetadata> {
    const metadata = await this.topic(topic);
    const found = metadata.partitions.find((entry) => entry.partition === partition);
    if (found === undefined) {
      // A partition added since the cache was filled is found by one refresh; beyond that it does not exist.
      const fresh = await this.topic(topic, { refresh: true });
      const again = fresh.partitions.find((entry) => entry.partition === partition);
      if (again === undefined) throw new KafkaPartitionUnknownError(topic, partition, fresh.partitions.length);
      return this.withLeader(topic, again);
    }
    return this.withLeader(topic, found);
  }

  private withLeader(topic: string, partition: PartitionMetadata): PartitionMetadata {
    if (partition.leader < 0) {
      this.metadata.forget(topic);
      throw new KafkaBrokerError(
        partition.errorCode === ErrorCode.NONE ? ErrorCode.LEADER_NOT_AVAILABLE : partition.errorCode,
        `partition ${topic}-${partition.partition}`,
      );
    }
    return partition;
  }

  async leaderConnection(topic: string, partition: number, lane: Lane): Promise<BrokerConnection> {
    const metadata = await this.partition(topic, partition);
    return this.nodeConnection(metadata.leader, lane);
  }

  /** The connection to the coordinator of `groupId`, found with FindCoordinator and cached until forgotten. */
  async groupCoordinator(groupId: string, lane: Lane = "group"): Promise<BrokerConnection> {
    const cached = this.coordinators.get(groupId);
    if (cached !== undefined) return this.connection(cached, lane);
    const connection = await this.anyConnection("admin");
    const version = connection.versionOf(Api.FindCoordinator);
    const response = await connection.request(Api.FindCoordinator, {
      key: groupId,
      keyType: 0,
      coordinatorKeys: [groupId],
    });
    let address: BrokerAddress;
    if (version >= 4) {
      const coordinator = response.coordinators?.find((entry) => entry.key === groupId);
      if (coordinator === undefined) {
        throw new KafkaBrokerError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `FindCoordinator for group "${groupId}"`);
      }
      if ((coordinator.errorCode ?? 0) !== 0) {
        throw new KafkaBrokerError(
          coordinator.errorCode!,
          `FindCoordinator for group "${groupId}"`,
          coordinator.errorMessage ?? null,
        );
      }
      address = { host: coordinator.host ?? "", port: coordinator.port ?? 0 };
    } else {
      if (response.errorCode !== 0) {
        throw new KafkaBrokerError(
          response.errorCode,
          `FindCoordinator for group "${groupId}"`,
          response.errorMessage ?? null,
        );
      }
      address = { host: response.host, port: response.port };
    }
    this.coordinators.set(groupId, address);
    return this.connection(address, lane);
  }

  forgetCoordinator(groupId: string): void {
    this.coordinators.delete(groupId);
  }

  /** A retry hook that forgets a topic's metadata after a failure that made its leaders stale. */
  forgetLeadersOn(topics: Iterable<string>): (error: KafkaClientError) => void {
    return (error) => {
      if (!isStaleLeaderError(error)) return;
      for (const topic of topics) this.metadata.forget(topic);
    };
  }

  /** A retry hook that forgets a group's coordinator after a failure that made it stale. */
  forgetCoordinatorOn(groupId: string): (error: KafkaClientError) => void {
    return (error) => {
      if (isStaleCoordinatorError(error)) this.forgetCoordinator(groupId);
    };
  }

  /**
   * Runs `operation`, trying again after retriable failures, up to retriesMax more times, with backoff from
   * retryBackoffInitialMs doubling to retryBackoffMaxMs (±20% jitter so that clients do not retry in step).
   */
  async retry<T>(operation: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.assertOpen();
        return await operation();
      } catch (error) {
        if (this.closedFlag) throw new KafkaClientClosedError();
        if (!this.mayRetry(error, attempt, options.resendable ?? true)) throw error;
        options.beforeRetry?.(error as KafkaClientError);
        this.options.logger.debug(
          { attempt: attempt + 1, err: error },
          `retrying after a retriable error: ${(error as Error).message}`,
        );
        await this.sleep(this.backoffMs(attempt));
      }
    }
  }

  /** Whether a failure on attempt `attempt` (0 for the first) may be followed by another attempt. */
  mayRetry(error: unknown, attempt: number, resendable: boolean): boolean {
    if (attempt >= this.options.retriesMax || !isRetriable(error)) return false;
    if (error instanceof KafkaConnectionError && error.requestSent) return resendable;
    return true;
  }

  backoffMs(attempt: number): number {
    const base = Math.min(this.options.retryBackoffMaxMs, this.options.retryBackoffInitialMs * 2 ** attempt);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  /** Waits `ms`, or less when the cluster closes meanwhile. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.wakeOnClose.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeOnClose.add(wake);
    });
  }

  /** Closes the connections of one lane (a stopped group consumer's own); later requests on it open new ones. */
  async closeLane(lane: Lane): Promise<void> {
    const closing: Array<Promise<BrokerConnection>> = [];
    for (const [key, opening] of this.connections) {
      if (!key.endsWith(`/${lane}`)) continue;
      this.connections.delete(key);
      closing.push(opening);
    }
    await Promise.all(
      closing.map((promise) =>
        promise.then(
          (connection) => connection.close(new KafkaClientClosedError(`the ${lane} connections`)),
          () => undefined,
        ),
      ),
    );
  }

  /** Closes every connection; requests still pending fail with KafkaClientClosedError. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const wake of [...this.wakeOnClose]) wake();
    const opening = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(
      opening.map((promise) =>
        promise.then(
          (connection) => connection.close(new KafkaClientClosedError()),
          () => undefined,
        ),
      ),
    );
  }
}
