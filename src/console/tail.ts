// Live tail: a stream of server-sent events carrying a topic's new messages as they arrive, one partition or all.
// The server reads by manual partition assignment (Sluice's own client, no consumer group), from the end of each
// partition or from positions the page hands back when it resumes after a pause. Fetches do not long-poll: a fetch
// that waits on the broker would hold the client's shared fetch connection and delay every other page's browsing,
// so an idle tail asks again every TAIL_POLL_INTERVAL_MS instead. Each event carries at most TAIL_EVENT_MESSAGES_MAX
// messages (the newest, with a count of those left out), and the stream waits for a slow page to drain, so neither
// a busy topic nor a slow browser makes the server buffer without bound.

import { once } from "node:events";
import type { ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

import type { FastifyInstance } from "fastify";

import { unavailable, validationFailed } from "../gateway/errors.js";
import type { FetchedRecord } from "../kafka/client/index.js";
import type { ConsoleContext } from "./context.js";
import { toConsoleError } from "./errors.js";
import { selectedPartitions, type DecoderFor } from "./messages.js";
import { optionalInteger, optionalString, topicName, type Fields } from "./params.js";
import { toMessageView } from "./records.js";

/** How long an idle tail waits before asking the partitions again. */
export const TAIL_POLL_INTERVAL_MS = 500;
/** Messages in one event; when more arrived at once, the newest are sent and the rest counted as skipped. */
export const TAIL_EVENT_MESSAGES_MAX = 200;
/** Bytes per partition in one tail fetch. */
export const TAIL_PARTITION_FETCH_BYTES = 1024 * 1024;
/** A comment line this often keeps proxies from closing a quiet stream. */
export const TAIL_HEARTBEAT_MS = 15_000;
/** Tails open at once in one console; more are refused with 503 until one closes. */
export const TAIL_STREAMS_MAX = 50;
const POSITIONS_CHARS_MAX = 100_000;

/** Parses "0:120,1:98" (partition:offset pairs), the positions a paused page resumes from. */
export function parsePositions(raw: string | undefined): Map<number, number> | null {
  if (raw === undefined || raw === "") return null;
  const positions = new Map<number, number>();
  for (const entry of raw.split(",")) {
    const match = /^([0-9]{1,7}):([0-9]{1,16})$/.exec(entry.trim());
    if (match === null || !Number.isSafeInteger(Number(match[2]))) {
      throw validationFailed(
        "positions",
        'positions must be partition:offset pairs separated by commas, as "0:120,1:98"',
      );
    }
    positions.set(Number(match[1]), Number(match[2]));
  }
  return positions;
}

/** One server-sent event; `data` is JSON on one line. */
function eventText(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

async function write(raw: ServerResponse, text: string): Promise<void> {
  if (!raw.write(text)) await Promise.race([once(raw, "drain"), once(raw, "close")]);
}

/** Counts the tails open now: the route keeps it, tests and the console read it. */
export class TailStreams {
  open = 0;
}

export async function tailRoutes(
  app: FastifyInstance,
  context: ConsoleContext,
  decoderFor: DecoderFor,
  streams: TailStreams,
): Promise<void> {
  app.get("/api/topics/:topic/tail", { preHandler: context.view }, async (request, reply) => {
    const topic = topicName((request.params as Fields).topic);
    const query = request.query as Fields;
    const partition = optionalInteger(query, "partition", 0, 1_000_000);
    const resumeAt = parsePositions(optionalString(query, "positions", POSITIONS_CHARS_MAX));
    if (streams.open >= TAIL_STREAMS_MAX) {
      throw unavailable(
        `${TAIL_STREAMS_MAX} live tails are open in this console; close one (or pause it) and try again`,
        5,
      );
    }
    // Errors before the stream starts (unknown topic or partition) are answered as JSON with their status.
    const partitions = await selectedPartitions(context, topic, partition);
    const starts = partitions.map((entry) => {
      const resumed = resumeAt?.get(entry.partition);
      const offset = resumed === undefined ? entry.latest : Math.min(Math.max(resumed, entry.earliest), entry.latest);
      return { partition: entry.partition, offset };
    });
    const reader = context.kafka.reader({
      partitions: starts.map((start) => ({ topic, partition: start.partition, from: { offset: start.offset } })),
      maxWaitMs: 0,
      partitionMaxBytes: TAIL_PARTITION_FETCH_BYTES,
      outOfRange: "latest",
    });
    const positions: Record<string, number> = Object.fromEntries(
      starts.map((start) => [start.partition, start.offset]),
    );

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      // Proxies such as nginx would otherwise hold the events back in their buffers.
      "x-accel-buffering": "no",
    });
    let closed = false;
    const stop = new AbortController();
    raw.on("close", () => {
      closed = true;
      reader.close();
      stop.abort();
    });
    streams.open++;
    try {
      await write(raw, eventText("start", { topic, positions }));
      let lastWriteAt = Date.now();
      while (!closed) {
        const records: FetchedRecord[] = await reader.read();
        if (closed) break;
        for (const state of reader.partitions()) {
          if (state.position !== null) positions[state.partition] = state.position;
        }
        if (records.length > 0) {
          const sent = records.length > TAIL_EVENT_MESSAGES_MAX ? records.slice(-TAIL_EVENT_MESSAGES_MAX) : records;
          const schemaDecoder = await decoderFor(sent);
          await write(
            raw,
            eventText("messages", {
              messages: sent.map((record) => toMessageView(record, schemaDecoder)),
              skipped: records.length - sent.length,
              positions,
            }),
          );
          lastWriteAt = Date.now();
          continue;
        }
        if (Date.now() - lastWriteAt >= TAIL_HEARTBEAT_MS) {
          await write(raw, ": still here\n\n");
          lastWriteAt = Date.now();
        }
        await sleep(TAIL_POLL_INTERVAL_MS, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    } catch (error) {
      // The stream has started, so the failure travels as an event the page shows; the page may reconnect.
      const failure = toConsoleError(error);
      context.logger.warn({ err: error, topic }, "console: live tail stopped");
      if (!closed) await write(raw, eventText("error", failure.toBody()));
    } finally {
      streams.open--;
      reader.close();
      if (!closed) raw.end();
    }
  });
}
