// Opening a usable connection: connect (and TLS), ApiVersions to learn the broker's ranges, then SASL when asked.
// ApiVersions is sent at this client's highest version; a broker that does not serve it answers with a v0 body
// carrying UNSUPPORTED_VERSION and its range for ApiVersions (KIP-511), and the request is repeated at the highest
// version both support.

import { ErrorCode } from "../../protocol/error-codes.js";
import type { VersionRange } from "../../protocol/schema.js";
import { Api } from "../apis/definitions.js";
import { highestCommonVersion, NegotiatedVersions } from "../apis/versions.js";
import {
  KafkaBrokerError,
  KafkaClientErrorCode,
  KafkaConnectionError,
  KafkaProtocolViolationError,
  KafkaUnsupportedApiError,
} from "../errors.js";
import { BrokerConnection, type ConnectionOptions } from "./connection.js";
import { authenticate, type SaslOptions } from "./sasl.js";

/** Identifies this client to brokers that record it (KIP-511): a name and the client's own protocol generation. */
export const CLIENT_SOFTWARE_NAME = "sluice-kafka-client";
export const CLIENT_SOFTWARE_VERSION = "1";

export interface OpenConnectionOptions extends ConnectionOptions {
  readonly sasl: SaslOptions | null;
  /** Caps on this client's highest version per API key. */
  readonly versionCaps: ReadonlyMap<number, number>;
}

export async function openConnection(options: OpenConnectionOptions): Promise<BrokerConnection> {
  const connection = await BrokerConnection.open(options);
  try {
    try {
      connection.versions = await negotiateVersions(connection, options.versionCaps);
    } catch (error) {
      throw explainFirstRequestFailure(error, connection.address, options.tls !== null);
    }
    if (options.sasl !== null) await authenticate(connection, options.sasl);
    return connection;
  } catch (error) {
    connection.close();
    throw error;
  }
}

/**
 * A peer that hangs up on the very first request, or answers it with bytes that are not Kafka, is most often a TLS
 * listener spoken to in plaintext (or the reverse), or not a Kafka broker at all: say so.
 */
function explainFirstRequestFailure(error: unknown, address: string, tls: boolean): unknown {
  const hint = tls
    ? "check that this address is a Kafka listener with TLS"
    : "if the listener uses TLS, turn TLS on (tls option, KAFKA_TLS=true); else check that this address is a Kafka broker";
  if (error instanceof KafkaConnectionError && error.code === KafkaClientErrorCode.CONNECTION_CLOSED) {
    return new KafkaConnectionError(
      KafkaClientErrorCode.CONNECTION_CLOSED,
      `${address} closed the connection on the first request (ApiVersions); ${hint}`,
      address,
      error.requestSent,
      { cause: error },
    );
  }
  if (error instanceof KafkaProtocolViolationError) {
    return new KafkaProtocolViolationError(
      `it answered the first request (ApiVersions) with something else: ${hint}`,
      address,
      {
        cause: error,
      },
    );
  }
  return error;
}

async function negotiateVersions(
  connection: BrokerConnection,
  caps: ReadonlyMap<number, number>,
): Promise<NegotiatedVersions> {
  const cap = caps.get(Api.ApiVersions.apiKey);
  let version = cap === undefined ? Api.ApiVersions.versions[1] : Math.min(cap, Api.ApiVersions.versions[1]);
  const body = { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION };
  let response = await connection.request(Api.ApiVersions, body, { version });
  if (response.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
    const advertised = response.apiKeys.find((entry) => entry.apiKey === Api.ApiVersions.apiKey);
    const retry = highestCommonVersion(
      [Api.ApiVersions.versions[0], version - 1],
      advertised === undefined ? [0, 0] : [advertised.minVersion, advertised.maxVersion],
    );
    if (retry === null) {
      throw new KafkaUnsupportedApiError(
        "ApiVersions",
        `${connection.address} supports no ApiVersions version we speak`,
      );
    }
    version = retry;
    response = await connection.request(Api.ApiVersions, body, { version });
  }
  if (response.errorCode !== ErrorCode.NONE) throw new KafkaBrokerError(response.errorCode, "ApiVersions");
  const ranges = new Map<number, VersionRange>();
  for (const entry of response.apiKeys) ranges.set(entry.apiKey, [entry.minVersion, entry.maxVersion]);
  return new NegotiatedVersions(ranges, caps);
}
