// The broker's state and its lifecycle: topics with their logs, the group coordinator, producer ids and injected
// faults. Handlers reach everything through this object; the TCP side lives in server.ts.

import { mkdirSync } from "node:fs";
import type { Logger } from "pino";
import type { BrokerConfig } from "./config.js";
import { BrokerSettings } from "./configs/settings.js";
import { FaultInjector } from "./faults.js";
import { GroupCoordinator } from "./group/coordinator.js";
import { readMetadataFile, writeMetadataFile } from "./metadata-file.js";
import { TopicRegistry } from "./topics.js";
import { AclStore } from "./acl/acls.js";
import { QuotaStore } from "./quotas/quotas.js";
import { QuotaEnforcer } from "./quotas/enforcer.js";
import { LogCleaner } from "./log/log-cleaner.js";
import { lockDataDir, type DataDirLock } from "../platform/data-dir-lock.js";
import { ScramAdmin } from "./sasl/scram-admin.js";
import { SaslUserStore, saslUserStoreFor } from "./sasl/user-store.js";
import { TransactionCoordinator } from "./txn/coordinator.js";

/** Producer ids are reserved on disk in blocks, so that handing one out rarely costs an fsync. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
const FIRST_PRODUCER_ID = 1;
/** Producer ids whose epoch is remembered for bumps; a forgotten one that asks for a bump gets a fresh id. */
export const PRODUCER_EPOCHS_TRACKED_MAX = 100_000;

export class Broker {
  readonly topics: TopicRegistry;
  /** Broker configs under Kafka's names: flags, defaults and what AlterConfigs changed at run time. */
  readonly settings: BrokerSettings;
  /** SCRAM users changed over the protocol, layered over the users given at start. */
  readonly scram: ScramAdmin;
  /** The ACLs, enforced when the broker runs with an authorizer; null without one (every request is allowed). */
  readonly acls: AclStore | null;
  /** Client quotas, stored and reported (AlterClientQuotas, DescribeClientQuotas). */
  readonly quotas: QuotaStore;
  /** Throttles clients over their byte-rate and request-percentage quotas. */
  readonly quotaEnforcer: QuotaEnforcer;
  readonly groups: GroupCoordinator;
  readonly txns: TransactionCoordinator;
  readonly faults = new FaultInjector();
  /** Compacts the logs of topics whose cleanup.policy includes compact. */
  readonly cleaner: LogCleaner;
  /** The current epoch of producer ids handed out since start, for InitProducerId epoch bumps; oldest forgotten first. */
  private readonly producerEpochs = new Map<number, number>();
  // Id 0 is never handed out: @platformatic/kafka sends producer id 0, epoch 0 as a placeholder in its first
  // InitProducerId, which must not be mistaken for a producer asking to bump its epoch.
  private nextProducerId = FIRST_PRODUCER_ID;
  private producerIdHighWater = FIRST_PRODUCER_ID;
  private boundPort = 0;
  private retentionTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private dataDirLock: DataDirLock | null = null;
  /** Set when shutdown begins: waiting fetches answer at once instead of holding the connection open. */
  stopping = false;

  constructor(
    readonly config: BrokerConfig,
    readonly logger: Logger,
  ) {
    // Deriving SCRAM credentials up front reports a bad user list at start, not at the first login. Without SASL,
    // credentials are still kept, as Kafka keeps them, for when the broker is restarted with SASL on.
    const saslUsers =
      config.sasl !== null
        ? saslUserStoreFor(config.sasl)
        : new SaslUserStore({ mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-512"], users: {} });
    this.scram = new ScramAdmin(saslUsers, () => this.persistMetadata());
    this.quotas = new QuotaStore(() => this.persistMetadata());
    this.quotaEnforcer = new QuotaEnforcer(this.quotas);
    this.acls = config.authorizer === null ? null : new AclStore(config.authorizer, () => this.persistMetadata());
    this.settings = new BrokerSettings(config);
    this.topics = new TopicRegistry({
      config,
      settings: this.settings,
      logger,
      persist: () => this.persistMetadata(),
      onTopicDeleted: (name) => this.groups.deleteTopicOffsets(name),
    });
    this.cleaner = new LogCleaner({
      logs: () =>
        this.topics.all().flatMap((topic) =>
          topic.partitions.map((partition) => ({
            log: partition.log,
            topic: topic.name,
            partition: partition.index,
            abortedTxns: () => partition.txns.abortedBetween(partition.log.logStartOffset, partition.log.logEndOffset),
            lastStableOffset: () => partition.txns.lastStableOffset(partition.log.logEndOffset),
            forgetAborted: (ranges) => this.txns.forgetAborted(topic.id, partition, ranges),
          })),
        ),
      dedupeBufferBytes: config.logCleanerDedupeBufferBytes,
      backoffMs: config.logCleanerBackoffMs,
      threadNice: config.logCleanerThreadNice,
      ioBytesPerSecondMax: config.logCleanerIoBytesPerSecondMax,
      logger: logger.child({ component: "log-cleaner" }),
    });
    this.groups = new GroupCoordinator({
      dataDir: config.dataDir,
      config,
      logger: logger.child({ component: "groups" }),
      topicExists: (name) => this.topics.get(name) !== undefined,
      partitionCount: (name) => this.topics.get(name)?.partitions.length,
      rebalanceStarted: (topics) => this.releaseFetches(topics),
    });
    this.txns = new TransactionCoordinator({
      config,
      logger: logger.child({ component: "transactions" }),
      topics: this.topics,
      groups: this.groups,
      allocateProducerId: () => this.allocateProducerId(),
    });
  }

  /** Loads topics, recovers their logs and the committed offsets. */
  async open(): Promise<void> {
    const { dataDir } = this.config;
    if (dataDir !== null) {
      mkdirSync(dataDir, { recursive: true });
      this.dataDirLock = lockDataDir(dataDir);
    }
    try {
      await this.recover(dataDir);
    } catch (error) {
      this.dataDirLock?.release();
      this.dataDirLock = null;
      throw error;
    }
    this.retentionTimer = setInterval(() => this.enforceRetention(), this.config.retentionCheckIntervalMs);
    this.retentionTimer.unref();
    this.cleaner.start();
    const { flush } = this.config;
    if (flush.kind === "interval") {
      this.flushTimer = setInterval(() => {
        this.syncAll().catch((error: unknown) => this.logger.error({ err: error }, "periodic flush failed"));
      }, flush.intervalMs);
      this.flushTimer.unref();
    }
  }

  private async recover(dataDir: string | null): Promise<void> {
    const stored = dataDir === null ? null : readMetadataFile(dataDir);
    if (stored !== null) {
      this.settings.restore(stored.brokerConfigs);
      this.applyCleanerConfigs();
      this.scram.restore(stored.scramCredentials);
      this.acls?.restore(stored.acls);
      this.quotas.restore(stored.clientQuotas);
      for (const topic of stored.topics) this.topics.restore(topic);
      this.nextProducerId = Math.max(stored.producerIdHighWater, FIRST_PRODUCER_ID);
      this.producerIdHighWater = this.nextProducerId;
      this.logger.info({ dataDir, topics: stored.topics.length }, "recovered broker state");
    }
    await this.groups.load();
    // After the groups: completing a transaction left half done may commit its offsets.
    await this.txns.load();
  }

  setBoundPort(port: number): void {
    this.boundPort = port;
  }

  advertisedAddress(): { nodeId: number; host: string; port: number } {
    return {
      nodeId: this.config.nodeId,
      host: this.config.advertisedHost ?? this.config.host,
      port: this.config.advertisedPort ?? this.boundPort,
    };
  }

  allocateProducerId(): number {
    if (this.nextProducerId >= this.producerIdHighWater) {
      this.producerIdHighWater = this.nextProducerId + PRODUCER_ID_BLOCK_SIZE;
      this.persistMetadata();
    }
    return this.nextProducerId++;
  }

  producerEpoch(producerId: number): number | undefined {
    return this.producerEpochs.get(producerId);
  }

  setProducerEpoch(producerId: number, epoch: number): void {
    this.producerEpochs.delete(producerId);
    this.producerEpochs.set(producerId, epoch);
    if (this.producerEpochs.size > PRODUCER_EPOCHS_TRACKED_MAX) {
      this.producerEpochs.delete(this.producerEpochs.keys().next().value as number);
    }
  }

  enforceRetention(nowMs = Date.now()): void {
    for (const topic of this.topics.all()) {
      for (const partition of topic.partitions) partition.log.enforceRetention(nowMs);
    }
  }

  /** Answers the fetches waiting on these topics (every topic when null) now, with what they hold. */
  releaseFetches(topics: ReadonlySet<string> | null): void {
    const released = topics === null ? this.topics.all() : [...topics].map((name) => this.topics.get(name));
    for (const topic of released) for (const partition of topic?.partitions ?? []) partition.releaseWaiters();
  }

  async syncAll(): Promise<void> {
    await Promise.all(this.topics.all().flatMap((topic) => topic.partitions.map((partition) => partition.log.sync())));
  }

  beginShutdown(): void {
    this.stopping = true;
    this.groups.beginShutdown();
    for (const topic of this.topics.all()) for (const partition of topic.partitions) partition.wakeWaiters();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.beginShutdown();
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer);
    if (this.flushTimer !== null) clearInterval(this.flushTimer);
    await this.cleaner.stop();
    await this.syncAll();
    await this.txns.close();
    await this.groups.close();
    await this.topics.closeAll();
    this.dataDirLock?.release();
    this.dataDirLock = null;
  }

  /** Persists a change of broker configs and hands the new effective values to every topic's logs. */
  brokerConfigsChanged(): void {
    for (const topic of this.topics.all()) this.topics.applyConfigs(topic);
    this.applyCleanerConfigs();
    this.persistMetadata();
  }

  /** Hands the log cleaner its dynamic broker configs' effective values (a cleaning in progress follows them). */
  private applyCleanerConfigs(): void {
    const { value } = this.settings.broker("log.cleaner.io.max.bytes.per.second");
    this.cleaner.setIoBytesPerSecondMax(Number(value));
  }

  private persistMetadata(): void {
    const { dataDir } = this.config;
    if (dataDir === null) return;
    writeMetadataFile(dataDir, {
      version: 1,
      clusterId: this.config.clusterId,
      topics: this.topics.toStored(),
      producerIdHighWater: this.producerIdHighWater,
      brokerConfigs: this.settings.toStored(),
      scramCredentials: this.scram.toStored(),
      ...(this.acls === null ? {} : { acls: this.acls.toStored() }),
      clientQuotas: this.quotas.toStored(),
    });
  }
}
