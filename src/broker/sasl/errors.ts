// The one error SASL code throws. Its message is written for the client: the broker sends it back in
// SaslAuthenticate's error_message, so it names what was wrong with the exchange but never which of the username or
// the password failed to match. A handler that must answer and then close the connection attaches the response it
// wants sent; the server writes that response before closing.

export class SaslAuthenticationError extends Error {
  override name = "SaslAuthenticationError";

  constructor(
    message: string,
    /** The Kafka response body to send before the connection is closed, when there is one. */
    readonly response?: unknown,
  ) {
    super(message);
  }
}
