// A lean HTTP/1.1 load client for the benchmarks: keep-alive connections over plain sockets, one request in flight
// per connection (no pipelining), requests written as prepared bytes and answers parsed just enough to count them.
// Node's fetch costs the client about half a millisecond of CPU per request; on a 2-core machine that shares its
// cores with the server under test, the client, not the server, then set the figure (measured with --cpu-prof:
// the bench process was busy all the time at 2,000 requests/s while the server idled half of it).

import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";

/** An answer: its status, the headers asked for (lower-case names), and its body. */
export interface LoadAnswer {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

export interface LoadRequest {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** How long one request may take before the run fails, rather than waiting forever on a stuck server. */
const ANSWER_TIMEOUT_MS = 30_000;
/** The longest header block accepted; a longer one means the answer is not what this client can read. */
const HEADER_BYTES_MAX = 64 * 1024;
const HEADER_END = Buffer.from("\r\n\r\n");

/** Encodes a request once, so that a run of identical requests costs one write each. */
export function encodeRequest(host: string, request: LoadRequest): Buffer {
  const body = request.body === undefined ? null : Buffer.from(request.body);
  let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const [name, value] of Object.entries(request.headers ?? {})) head += `${name}: ${value}\r\n`;
  if (body !== null) head += `content-length: ${body.length}\r\n`;
  head += "\r\n";
  return body === null ? Buffer.from(head, "latin1") : Buffer.concat([Buffer.from(head, "latin1"), body]);
}

/** One keep-alive connection; send() writes a request and resolves with its answer. */
class LoadConnection {
  private readonly socket: Socket;
  private readonly ready: Promise<void>;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (answer: LoadAnswer) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(host: string, port: number) {
    this.socket = connect({ host, port, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", (error) => this.fail(error));
    this.socket.on("close", () => this.fail(new Error("the server closed the connection")));
  }

  async send(request: Buffer): Promise<LoadAnswer> {
    await this.ready;
    if (this.failure !== null) throw this.failure;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
      this.waiting = {
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.socket.write(request);
    });
  }

  close(): void {
    this.failure ??= new Error("closed");
    this.socket.destroy();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(error);
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const headerEnd = this.buffered.indexOf(HEADER_END);
    if (headerEnd < 0) {
      if (this.buffered.length > HEADER_BYTES_MAX) this.fail(new Error("an answer's headers are too long"));
      return;
    }
    const lines = this.buffered.toString("latin1", 0, headerEnd).split("\r\n");
    const status = Number(lines[0]?.split(" ", 2)[1]);
    const headers = new Map<string, string>();
    for (let index = 1; index < lines.length; index++) {
      const line = lines[index] as string;
      const colon = line.indexOf(":");
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    if (headers.has("transfer-encoding")) {
      this.fail(new Error("the load client reads only answers with a Content-Length, not chunked ones"));
      return;
    }
    const length = Number(headers.get("content-length") ?? "0");
    const bodyStart = headerEnd + HEADER_END.length;
    if (this.buffered.length < bodyStart + length) return;
    const body = this.buffered.subarray(bodyStart, bodyStart + length);
    this.buffered = this.buffered.subarray(bodyStart + length);
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.resolve({ status, headers, body });
  }
}

export interface LoadResult {
  perSecond: number;
  count: number;
  /** Answers for which check() returned true. */
  ok: number;
  /** Seconds from the first request to the last answer. */
  seconds: number;
  /** Each request's time from its write to its answer, in ms, sorted. */
  latenciesMs: number[];
}

/**
 * Sends `count` requests from `concurrency` connections, each sending its next request when the last is answered;
 * request(index) gives the bytes of each (see encodeRequest) and check(answer) says whether it was as expected.
 */
export async function runLoad(options: {
  url: string;
  count: number;
  concurrency: number;
  request: (index: number) => Buffer;
  check: (answer: LoadAnswer) => boolean;
}): Promise<LoadResult> {
  const { hostname, port } = new URL(options.url);
  const host = hostname.replace(/^\[|\]$/g, "");
  const connections = Array.from({ length: options.concurrency }, () => new LoadConnection(host, Number(port)));
  let next = 0;
  let ok = 0;
  const latenciesMs: number[] = [];
  const started = performance.now();
  try {
    await Promise.all(
      connections.map(async (connection) => {
        while (next < options.count) {
          const index = next++;
          const request = options.request(index);
          const sentMs = performance.now();
          const answer = await connection.send(request);
          latenciesMs.push(performance.now() - sentMs);
          if (options.check(answer)) ok += 1;
        }
      }),
    );
  } finally {
    for (const connection of connections) connection.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    perSecond: options.count / seconds,
    count: options.count,
    ok,
    seconds,
    latenciesMs: latenciesMs.sort((left, right) => left - right),
  };
}
