// Shared pieces of the partition log tests: temporary directories, a logger whose entries can be inspected, and
// producing batches the way the Produce handler does (build, validate, append).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import type { CompressionCodec } from "../../../src/kafka/protocol/compression/index.js";
import { buildRecordBatch, validateProducedBatch } from "../../../src/kafka/protocol/record-batch.js";
import type { LogConfig } from "../../../src/broker/log/log-config.js";
import type { AppendResult, PartitionLog } from "../../../src/broker/log/partition-log.js";

export const MESSAGE_BYTES_MAX = 1024 * 1024;

export function baseConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return {
    segmentBytesMax: 1024 * 1024,
    segmentMs: 7 * 24 * 3600 * 1000,
    retentionMs: -1,
    retentionBytes: -1,
    messageTimestampType: "CreateTime",
    indexIntervalBytes: 4096,
    ...overrides,
  };
}

export function temporaryDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "sluice-log-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CapturedLogger {
  logger: Logger;
  entries: Record<string, unknown>[];
}

export function capturingLogger(): CapturedLogger {
  const entries: Record<string, unknown>[] = [];
  const logger = pino(
    { level: "debug" },
    {
      write(line: string) {
        entries.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, entries };
}

export interface ProduceOptions {
  count?: number;
  timestamps?: number[];
  valueBytes?: number;
  compression?: CompressionCodec;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  label?: string;
}

/** Builds a batch like a client would, validates it like the Produce handler, and appends it. */
export function produce(log: PartitionLog, options: ProduceOptions = {}): AppendResult & { batch: Buffer } {
  const count = options.timestamps?.length ?? options.count ?? 1;
  const label = options.label ?? "v";
  const batch = buildRecordBatch({
    records: Array.from({ length: count }, (_, i) => ({
      key: `k${i}`,
      value: `${label}${i}`.padEnd(options.valueBytes ?? 0, "."),
      timestamp: options.timestamps?.[i] ?? 1_000 + i,
    })),
    compression: options.compression,
    producerId: options.producerId,
    producerEpoch: options.producerEpoch,
    baseSequence: options.baseSequence,
  });
  const validation = validateProducedBatch(batch, MESSAGE_BYTES_MAX);
  assert.ok("header" in validation, "test batch should be valid");
  const result = log.append(batch, validation.header);
  return { ...result, batch };
}
