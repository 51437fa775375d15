// SASL PLAIN (RFC 4616): one client token, `authzid NUL authcid NUL password`, answered with an empty token on
// success. It sends the password in the clear, so it belongs on TLS connections or trusted networks.

import { SaslAuthenticationError } from "./errors.js";
import { SASL_TOKEN_BYTES_MAX, type SaslServerExchange, type SaslStepResult } from "./exchange.js";
import type { SaslUserStore } from "./user-store.js";

const NUL = 0;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeName(bytes: Buffer, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new SaslAuthenticationError(`Invalid PLAIN token: the ${what} is not valid UTF-8`);
  }
}

export class PlainSaslServer implements SaslServerExchange {
  readonly mechanism = "PLAIN";
  private finished = false;

  constructor(private readonly users: SaslUserStore) {}

  step(clientToken: Buffer): SaslStepResult {
    if (this.finished) throw new SaslAuthenticationError("The PLAIN exchange has already finished");
    this.finished = true;
    if (clientToken.length > SASL_TOKEN_BYTES_MAX) {
      throw new SaslAuthenticationError(`Invalid PLAIN token: longer than ${SASL_TOKEN_BYTES_MAX} bytes`);
    }
    const firstNul = clientToken.indexOf(NUL);
    const secondNul = firstNul < 0 ? -1 : clientToken.indexOf(NUL, firstNul + 1);
    if (secondNul < 0 || clientToken.indexOf(NUL, secondNul + 1) >= 0) {
      throw new SaslAuthenticationError(
        "Invalid PLAIN token: expected authorization id, user name and password separated by two NUL bytes",
      );
    }
    const authorizationId = decodeName(clientToken.subarray(0, firstNul), "authorization id");
    const username = decodeName(clientToken.subarray(firstNul + 1, secondNul), "user name");
    const password = clientToken.subarray(secondNul + 1);
    if (username.length === 0) throw new SaslAuthenticationError("Invalid PLAIN token: the user name is empty");
    if (password.length === 0) throw new SaslAuthenticationError("Invalid PLAIN token: the password is empty");
    if (authorizationId.length > 0 && authorizationId !== username) {
      throw new SaslAuthenticationError(
        "Authentication failed: the authorization id must be empty or equal to the user name",
      );
    }
    if (!this.users.verifyPassword(username, password)) {
      throw new SaslAuthenticationError("Authentication failed: invalid username or password");
    }
    return { response: Buffer.alloc(0), done: true, principal: username };
  }
}
