// W3C Trace Context (https://www.w3.org/TR/trace-context/) for events. A trace reaches the events published while
// handling another event in one of two ways. The transaction a consumer hands its handler carries the handler's
// span, so that events added to the outbox through it continue the trace at no cost. Code that runs inside
// runWithTraceparent() has the trace in an AsyncLocalStorage, which follows every promise it starts; that is
// opt-in for handlers, because once a store is entered Node 22 tracks the context of every promise in the process,
// which cost a busy consumer up to a fifth of its throughput (Node 24's AsyncContextFrame does not).

import { AsyncLocalStorage } from "node:async_hooks";

import { takeRandomBytes } from "../platform/random-pool.js";

const storage = new AsyncLocalStorage<string | null>();

/** version 00, 32 hex trace id, 16 hex parent (span) id, 2 hex flags. */
const TRACEPARENT_CHARS = 55;
/** A traceparent has dashes at 2, 35 and 52; every other character is a lower-case hex digit. */
const DASH = 0x2d;
const ZERO_TRACE_ID = "0".repeat(32);
const ZERO_SPAN_ID = "0".repeat(16);
/** The "sampled" flag: a trace the toolkit starts is recorded unless a caller decides otherwise. */
const DEFAULT_TRACE_FLAGS = "01";

export interface TraceContext {
  traceId: string;
  spanId: string;
  flags: string;
}

/**
 * Parses a traceparent header, or returns null when it is absent or malformed (the specification says to start a
 * new trace rather than fail in that case). Upper-case hex, version ff and all-zero ids are invalid.
 */
export function parseTraceparent(value: string | null | undefined): TraceContext | null {
  const text = validTraceparentText(value);
  if (text === null) return null;
  // Later versions may append fields; the first four keep their meaning, which is all the toolkit reads.
  return { traceId: text.slice(3, 35), spanId: text.slice(36, 52), flags: text.slice(53, 55) };
}

/** Whether parseTraceparent would accept the value; without building its parts, since a consumer asks per event. */
export function isValidTraceparent(value: string | null | undefined): boolean {
  return validTraceparentText(value) !== null;
}

function validTraceparentText(value: string | null | undefined): string | null {
  if (typeof value !== "string") return null;
  const text = value.length === TRACEPARENT_CHARS ? value : value.trim();
  if (!hasTraceparentShape(text)) return null;
  if (text.startsWith("ff") || text.startsWith(ZERO_TRACE_ID, 3) || text.startsWith(ZERO_SPAN_ID, 36)) return null;
  return text;
}

/**
 * The traceparent's shape, checked by its character codes: as a regular expression it was a consumer's cost per
 * event. The dashes sit at fixed places, which are tested as constants; looking them up in an array was three times
 * slower.
 */
function hasTraceparentShape(text: string): boolean {
  if (text.length !== TRACEPARENT_CHARS) return false;
  if (text.charCodeAt(2) !== DASH || text.charCodeAt(35) !== DASH || text.charCodeAt(52) !== DASH) return false;
  for (let index = 0; index < TRACEPARENT_CHARS; index++) {
    if (index === 2 || index === 35 || index === 52) continue;
    const code = text.charCodeAt(index);
    if (!((code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66))) return false;
  }
  return true;
}

export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.flags}`;
}

function randomHex(bytes: number, zero: string): string {
  for (;;) {
    const { pool, offset } = takeRandomBytes(bytes);
    const hex = pool.toString("hex", offset, offset + bytes);
    if (hex !== zero) return hex;
  }
}

/** The key under which an object carries its trace (see traceparentOf). */
export const TRACEPARENT = Symbol("sluice.traceparent");

/** An object that carries a trace context, such as the transaction a consumer hands its handler. */
export interface TraceCarrier {
  readonly [TRACEPARENT]: string | null;
}

/**
 * The traceparent an object carries (a handler's transaction carries the handler's span), or undefined when it
 * carries none.
 */
export function traceparentOf(carrier: unknown): string | null | undefined {
  if (typeof carrier !== "object" || carrier === null || !(TRACEPARENT in carrier)) return undefined;
  return (carrier as TraceCarrier)[TRACEPARENT];
}

/** The traceparent of the work running now (see runWithTraceparent), or null outside any trace. */
export function currentTraceparent(): string | null {
  return storage.getStore() ?? null;
}

/** Runs fn (and everything it starts) with traceparent as the current trace context. */
export function runWithTraceparent<T>(traceparent: string | null, fn: () => T): T {
  const valid = parseTraceparent(traceparent);
  return storage.run(valid === null ? null : formatTraceparent(valid), fn);
}

/** A new span in the parent's trace (same trace id and flags, new span id), or the root of a new trace. */
export function childTraceparent(parent: string | null): string {
  const context = parseTraceparent(parent);
  return formatTraceparent({
    traceId: context?.traceId ?? randomHex(16, ZERO_TRACE_ID),
    spanId: randomHex(8, ZERO_SPAN_ID),
    flags: context?.flags ?? DEFAULT_TRACE_FLAGS,
  });
}
