// DescribeLogDirs (key 35), versions 0–4. This broker has one log dir, its data dir ("memory" when it keeps logs in
// memory), with every partition's size in bytes (or only the topics asked for; a null list means all). Offset lag is
// 0: there are no future replicas. v4 adds the dir's total and usable bytes, -1 when there is no dir on disk.
// Needs DESCRIBE on the cluster.

import { statfsSync } from "node:fs";
import { ErrorCode } from "../../kafka/protocol/error-codes.js";
import {
  DescribeLogDirsRequestSchema,
  DescribeLogDirsResponseSchema,
  type DescribeLogDirsRequest,
  type DescribeLogDirsResponse,
} from "../../kafka/protocol/messages/index.js";
import type { DescribeLogDirsTopic } from "../../kafka/protocol/messages/describe-log-dirs-response.js";
import { AclOperation } from "../acl/acls.js";
import { clusterAuthorized } from "../acl/authorize.js";
import { defineHandler } from "./handler.js";

export const MEMORY_LOG_DIR = "memory";

function diskSpace(dir: string | null): { totalBytes: number; usableBytes: number } {
  if (dir === null) return { totalBytes: -1, usableBytes: -1 };
  try {
    const stats = statfsSync(dir);
    return { totalBytes: stats.blocks * stats.bsize, usableBytes: stats.bavail * stats.bsize };
  } catch {
    return { totalBytes: -1, usableBytes: -1 };
  }
}

export default defineHandler<DescribeLogDirsRequest, DescribeLogDirsResponse>({
  apiKey: 35,
  name: "DescribeLogDirs",
  versions: [0, 4],
  requestSchema: DescribeLogDirsRequestSchema,
  responseSchema: DescribeLogDirsResponseSchema,
  handle(ctx, request) {
    if (!clusterAuthorized(ctx, AclOperation.DESCRIBE)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    }
    const { broker } = ctx;
    const wanted = request.topics === null ? null : new Map(request.topics.map((t) => [t.topic, t.partitions]));
    const topics: DescribeLogDirsTopic[] = [];
    for (const topic of broker.topics.all()) {
      const partitionsWanted = wanted === null ? null : wanted.get(topic.name);
      if (partitionsWanted === undefined) continue;
      const partitions = topic.partitions
        .filter((partition) => partitionsWanted === null || partitionsWanted.includes(partition.index))
        .map((partition) => ({
          partitionIndex: partition.index,
          partitionSize: partition.log.sizeBytes,
          offsetLag: 0,
          isFutureKey: false,
        }));
      if (partitions.length > 0) topics.push({ name: topic.name, partitions });
    }
    const { dataDir } = broker.config;
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [{ errorCode: ErrorCode.NONE, logDir: dataDir ?? MEMORY_LOG_DIR, topics, ...diskSpace(dataDir) }],
    };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, results: [] };
  },
});
