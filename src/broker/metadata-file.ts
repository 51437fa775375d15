// The broker's small durable metadata (topics, their configs and ids, the producer-id block) in one JSON file,
// replaced atomically: write a temporary file, fsync it, rename it over the old one, fsync the directory.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, existsSync } from "node:fs";
import { join } from "node:path";
import type { StoredBrokerConfigs } from "./configs/settings.js";
import type { StoredScramChanges } from "./sasl/scram-admin.js";

export interface StoredTopic {
  name: string;
  id: string;
  partitions: number;
  configs: Record<string, string>;
}

export interface StoredMetadata {
  version: 1;
  clusterId: string;
  topics: StoredTopic[];
  /** Producer ids below this may have been handed out; a restart continues from here. */
  producerIdHighWater: number;
  /** Broker configs changed at run time by AlterConfigs (absent in files written before they existed). */
  brokerConfigs?: StoredBrokerConfigs;
  /** SCRAM credentials set or deleted by AlterUserScramCredentials. */
  scramCredentials?: StoredScramChanges;
}

const FILE_NAME = "meta.json";

export function readMetadataFile(dataDir: string): StoredMetadata | null {
  const path = join(dataDir, FILE_NAME);
  if (!existsSync(path)) return null;
  const parsed = JSON.parse(readFileSync(path, "utf8")) as StoredMetadata;
  if (parsed.version !== 1 || !Array.isArray(parsed.topics)) {
    throw new Error(`${path} is not a Sluice metadata file of version 1; move it away or point --data-dir elsewhere`);
  }
  return parsed;
}

export function writeMetadataFile(dataDir: string, metadata: StoredMetadata): void {
  const path = join(dataDir, FILE_NAME);
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, "w");
  try {
    writeSync(fd, JSON.stringify(metadata, null, 2));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  const dirFd = openSync(dataDir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
