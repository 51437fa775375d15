// The shape in which every Kafka request and response is declared once, as data. The generic codec in codec.ts
// reads these declarations in both directions; the declarations themselves are generated from Kafka's JSON message
// definitions by scripts/gen-protocol.ts into messages/.

/** An inclusive version range; `max` is Infinity for open-ended ranges such as "3+". */
export type VersionRange = readonly [min: number, max: number];

export type PrimitiveType =
  | "int8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "float64"
  | "bool"
  | "string"
  | "bytes"
  | "records"
  | "uuid";

export type FieldType =
  | { readonly kind: "primitive"; readonly name: PrimitiveType }
  | { readonly kind: "array"; readonly items: FieldType }
  | { readonly kind: "struct"; readonly name: string; readonly fields: readonly FieldSchema[] };

export interface FieldSchema {
  readonly name: string;
  readonly type: FieldType;
  readonly versions: VersionRange;
  readonly nullableVersions?: VersionRange;
  readonly taggedVersions?: VersionRange;
  readonly tag?: number;
  /** The value used when the field is absent from a version or from the tagged fields. */
  readonly default?: unknown;
}

export interface MessageSchema {
  readonly name: string;
  readonly apiKey: number;
  readonly kind: "request" | "response" | "header" | "data";
  readonly validVersions: VersionRange;
  readonly flexibleVersions: VersionRange | null;
  readonly fields: readonly FieldSchema[];
}

export function inRange(range: VersionRange | undefined | null, version: number): boolean {
  return range !== undefined && range !== null && version >= range[0] && version <= range[1];
}
