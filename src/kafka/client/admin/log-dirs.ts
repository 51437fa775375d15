// DescribeLogDirs: how many bytes each partition's log holds on each broker. The question goes to every broker,
// since each answers for its own disks only.

import { Api } from "../apis/definitions.js";
import type { KafkaCluster } from "../cluster/cluster.js";
import { checkErrorCode } from "../errors.js";

export interface ReplicaLogSize {
  readonly nodeId: number;
  readonly logDir: string;
  readonly topic: string;
  readonly partition: number;
  readonly sizeBytes: number;
  /** True for a replica being moved to another directory (the future log), not the one in use. */
  readonly future: boolean;
}

/** The log size of every replica of the given topics (every topic when null), from every broker. */
export async function describeLogDirs(
  cluster: KafkaCluster,
  topics: ReadonlyArray<{ readonly topic: string; readonly partitions: readonly number[] }> | null,
): Promise<ReplicaLogSize[]> {
  await cluster.refreshMetadata([]);
  const nodes = [...cluster.metadata.brokers.values()];
  const answers = await Promise.all(
    nodes.map((node) =>
      cluster.retry(async () => {
        const connection = await cluster.nodeConnection(node.nodeId, "admin");
        const response = await connection.request(Api.DescribeLogDirs, {
          topics:
            topics === null ? null : topics.map((entry) => ({ topic: entry.topic, partitions: [...entry.partitions] })),
        });
        checkErrorCode(response.errorCode ?? 0, `DescribeLogDirs on broker ${node.nodeId}`);
        const sizes: ReplicaLogSize[] = [];
        for (const result of response.results) {
          checkErrorCode(result.errorCode, `DescribeLogDirs of ${result.logDir} on broker ${node.nodeId}`);
          for (const topic of result.topics) {
            for (const partition of topic.partitions) {
              sizes.push({
                nodeId: node.nodeId,
                logDir: result.logDir,
                topic: topic.name,
                partition: partition.partitionIndex,
                sizeBytes: partition.partitionSize,
                future: partition.isFutureKey,
              });
            }
          }
        }
        return sizes;
      }),
    ),
  );
  return answers.flat();
}
