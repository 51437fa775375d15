// Request header v0–v2 and response header v0–v1, written by hand rather than through the codec: they sit on every
// frame, and the request header's client id keeps its INT16 length even in flexible versions.

import { ProtocolDecodeError, Reader, Writer } from "./primitives.js";

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** API key 7 (ControlledShutdown) v0 is the only request that uses header v0; Sluice never serves it. */
export function requestHeaderVersion(flexible: boolean): number {
  return flexible ? 2 : 1;
}

/** ApiVersions responses always use header v0 so that a client can read them before it knows the broker's range. */
export function responseHeaderVersion(apiKey: number, flexible: boolean): number {
  return flexible && apiKey !== 18 ? 1 : 0;
}

/** Reads the fixed part of a request header, enough to choose the body's schema. */
export function readRequestHeaderStart(reader: Reader): Omit<RequestHeader, "clientId"> {
  return { apiKey: reader.int16(), apiVersion: reader.int16(), correlationId: reader.int32() };
}

/** Reads the rest of a request header (client id, and tagged fields for header v2). */
export function readRequestHeaderRest(reader: Reader, headerVersion: number): string | null {
  if (headerVersion < 1) return null;
  const clientId = reader.string(false);
  if (headerVersion >= 2) skipTaggedFields(reader);
  return clientId;
}

export function writeRequestHeader(writer: Writer, header: RequestHeader, headerVersion: number): void {
  writer.int16(header.apiKey).int16(header.apiVersion).int32(header.correlationId);
  if (headerVersion >= 1) writer.string(header.clientId, false);
  if (headerVersion >= 2) writer.uvarint(0);
}

export function writeResponseHeader(writer: Writer, correlationId: number, headerVersion: number): void {
  writer.int32(correlationId);
  if (headerVersion >= 1) writer.uvarint(0);
}

export function readResponseHeader(reader: Reader, headerVersion: number): number {
  const correlationId = reader.int32();
  if (headerVersion >= 1) skipTaggedFields(reader);
  return correlationId;
}

export function skipTaggedFields(reader: Reader): void {
  const count = reader.uvarint();
  for (let i = 0; i < count; i++) {
    reader.uvarint();
    const size = reader.uvarint();
    if (size > reader.remaining) throw new ProtocolDecodeError(`tagged field of ${size} bytes runs past the end`);
    reader.skip(size);
  }
}
