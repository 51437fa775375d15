// The groups' persistence, as Kafka's group metadata manager keeps it in __consumer_offsets: group existence and
// committed offsets go to an append-only log under the data dir; on start the log is replayed into the groups and
// offsets, and when it has grown it is rewritten from a snapshot of them. Without a data dir nothing is written.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { ConsumerGroup } from "./group.js";
import { GroupLogFile } from "./log-file.js";
import { decodeGroupLog, encodeGroupLogRecord, type GroupLogRecord } from "./log-records.js";
import type { CommittedOffsets } from "./offsets.js";

export const GROUP_LOG_DIRECTORY = "groups";
export const GROUP_LOG_FILE = "groups.log";

export interface GroupLogOptions {
  /** The log is rewritten from a snapshot once it is at least this large and twice the snapshot. */
  compactBytesMin: number;
  logger: Logger;
}

export class GroupPersistence {
  private log: GroupLogFile<GroupLogRecord> | null = null;

  constructor(
    private readonly groups: Map<string, ConsumerGroup>,
    private readonly offsets: CommittedOffsets,
  ) {}

  /**
   * Opens the group log under dataDir and replays it into the groups (as Empty) and offsets, compacting it when it
   * has grown. The log is returned unattached: append() writes to it only after attach().
   */
  async load(dataDir: string, options: GroupLogOptions): Promise<GroupLogFile<GroupLogRecord>> {
    const directory = join(dataDir, GROUP_LOG_DIRECTORY);
    await mkdir(directory, { recursive: true });
    const log = await GroupLogFile.open({
      path: join(directory, GROUP_LOG_FILE),
      codec: { encode: encodeGroupLogRecord, decode: decodeGroupLog },
      compactBytesMin: options.compactBytesMin,
      logger: options.logger,
      snapshot: () => this.snapshot(),
    });
    for (const record of log.recovered) this.replay(record);
    await log.compactIfGrown();
    return log;
  }

  attach(log: GroupLogFile<GroupLogRecord>): void {
    this.log = log;
  }

  /** Buffers a record for the log; a no-op in memory. Await sync() before telling a client it is stored. */
  append(record: GroupLogRecord): void {
    this.log?.append(record);
  }

  /** Resolves once every record appended so far is durable (a no-op in memory). */
  async sync(): Promise<void> {
    if (this.log !== null) await this.log.sync();
  }

  /** Writes out and closes the log; later appends are dropped. */
  async close(): Promise<void> {
    const log = this.log;
    this.log = null;
    if (log !== null) await log.close();
  }

  replay(record: GroupLogRecord): void {
    switch (record.kind) {
      case "group": {
        let group = this.groups.get(record.groupId);
        if (group === undefined) {
          group = new ConsumerGroup(record.groupId);
          this.groups.set(record.groupId, group);
        }
        group.protocolType = record.protocolType;
        group.generationId = record.generationId;
        return;
      }
      case "group-deleted":
        this.groups.delete(record.groupId);
        this.offsets.deleteGroup(record.groupId);
        return;
      case "offset": {
        if (!this.groups.has(record.groupId)) this.groups.set(record.groupId, new ConsumerGroup(record.groupId));
        const { offset, leaderEpoch, metadata, commitTimestampMs } = record;
        this.offsets.set(record.groupId, record.topic, record.partition, {
          offset,
          leaderEpoch,
          metadata,
          commitTimestampMs,
        });
        return;
      }
      case "offset-deleted":
        this.offsets.delete(record.groupId, record.topic, record.partition);
        return;
    }
  }

  /** The records that rebuild the current groups and offsets, and nothing they supersede. */
  snapshot(): GroupLogRecord[] {
    const records: GroupLogRecord[] = [];
    for (const group of this.groups.values()) {
      records.push({
        kind: "group",
        groupId: group.groupId,
        protocolType: group.protocolType,
        generationId: group.generationId,
      });
    }
    for (const { groupId, topic, partition, committed } of this.offsets.entries()) {
      records.push({ kind: "offset", groupId, topic, partition, ...committed });
    }
    return records;
  }
}
