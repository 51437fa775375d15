// Picks the server-side implementation for a mechanism name.

import { SaslAuthenticationError } from "./errors.js";
import type { SaslServerExchange } from "./exchange.js";
import { PlainSaslServer } from "./plain.js";
import { ScramSaslServer, type ScramSaslServerOptions } from "./scram.js";
import { isScramMechanism, type SaslUserStore } from "./user-store.js";

export type SaslServerOptions = ScramSaslServerOptions;

/** Starts an exchange for a mechanism the store has enabled; throws SaslAuthenticationError for any other. */
export function createSaslServer(
  mechanism: string,
  users: SaslUserStore,
  options: SaslServerOptions = {},
): SaslServerExchange {
  if (!users.isEnabled(mechanism)) {
    throw new SaslAuthenticationError(
      `SASL mechanism ${JSON.stringify(mechanism)} is not enabled; enabled: ${users.mechanisms.join(", ")}`,
    );
  }
  if (mechanism === "PLAIN") return new PlainSaslServer(users);
  if (isScramMechanism(mechanism)) return new ScramSaslServer(mechanism, users, options);
  throw new SaslAuthenticationError(`SASL mechanism ${JSON.stringify(mechanism)} is not implemented`);
}
