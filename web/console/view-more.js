// Views whose data needs more than the Kafka protocol: schemas (the registry), dead letters (the toolkit's
// dead-letter topics) and outbox and inbox (the toolkit's tables). Each says what it needs when it is not there.

import { session } from "./app.js";
import { empty, h } from "./ui.js";

export async function schemasView({ container }) {
  container.append(
    h("h1", {}, "Schemas"),
    session.registry
      ? empty("Loading subjects…")
      : empty("No schema registry is configured: start the console with --registry-url."),
  );
}

export async function deadLettersView({ container }) {
  container.append(h("h1", {}, "Dead letters"), empty("Dead letters are not available on this console yet."));
}

export async function outboxView({ container }) {
  container.append(
    h("h1", {}, "Outbox and inbox"),
    empty(session.database ? "Loading…" : "No database is configured: start the console with --database-url."),
  );
}
