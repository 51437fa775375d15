// Sending a batch of items (partitions, groups, resources) each to the broker that must answer for it: one request
// per broker, all brokers at once, and a retry of just the items whose answer was a retriable error, after forgetting
// what made their route stale. Each item ends with its result or its error, so a caller can report per item (admin
// results) or throw the first error (offset lookups).

import { KafkaClientError, KafkaProtocolViolationError } from "../errors.js";
import type { BrokerConnection } from "../network/connection.js";
import type { KafkaCluster } from "./cluster.js";

/** What a broker said about one item: its result, or an error code (with the broker's message, when it sent one). */
export type ItemOutcome<R> = { readonly result: R } | { readonly error: KafkaClientError };

export interface RoutedBatch<I, R> {
  readonly items: readonly I[];
  /** A key unique per item, used to match the broker's answers to the items. */
  keyOf(item: I): string;
  /** The connection to the broker that answers for this item. */
  route(item: I): Promise<BrokerConnection>;
  /** Sends one request for these items (all routed to `connection`) and returns an outcome per item key. */
  send(connection: BrokerConnection, items: I[]): Promise<Map<string, ItemOutcome<R>>>;
  /** Forgets whatever made this item's route stale, before it is retried. */
  forget(item: I, error: KafkaClientError): void;
  /** false when a request the broker may have carried out must not be sent again. */
  readonly resendable?: boolean;
}

export async function sendRouted<I, R>(
  cluster: KafkaCluster,
  batch: RoutedBatch<I, R>,
): Promise<Map<string, ItemOutcome<R>>> {
  const outcomes = new Map<string, ItemOutcome<R>>();
  let pending = [...batch.items];
  for (let attempt = 0; pending.length > 0; attempt++) {
    const failed: Array<{ item: I; error: KafkaClientError }> = [];
    const byConnection = new Map<BrokerConnection, I[]>();
    await Promise.all(
      pending.map(async (item) => {
        try {
          const connection = await batch.route(item);
          const group = byConnection.get(connection);
          if (group === undefined) byConnection.set(connection, [item]);
          else group.push(item);
        } catch (error) {
          if (!(error instanceof KafkaClientError)) throw error;
          failed.push({ item, error });
        }
      }),
    );
    await Promise.all(
      [...byConnection].map(async ([connection, items]) => {
        let answers: Map<string, ItemOutcome<R>>;
        try {
          answers = await batch.send(connection, items);
        } catch (error) {
          if (!(error instanceof KafkaClientError)) throw error;
          for (const item of items) failed.push({ item, error });
          return;
        }
        for (const item of items) {
          const key = batch.keyOf(item);
          const answer = answers.get(key);
          if (answer === undefined) {
            failed.push({
              item,
              error: new KafkaProtocolViolationError(
                `its answer leaves out ${key.replace("\0", "-")}`,
                connection.address,
              ),
            });
          } else if ("error" in answer) {
            failed.push({ item, error: answer.error });
          } else {
            outcomes.set(key, answer);
          }
        }
      }),
    );
    pending = [];
    for (const { item, error } of failed) {
      if (cluster.mayRetry(error, attempt, batch.resendable ?? true)) {
        batch.forget(item, error);
        pending.push(item);
      } else {
        outcomes.set(batch.keyOf(item), { error });
      }
    }
    if (pending.length > 0) {
      await cluster.sleep(cluster.backoffMs(attempt));
      cluster.assertOpen();
    }
  }
  return outcomes;
}

/** The results in the items' order; throws the first item's error. */
export function resultsOrThrow<I, R>(
  items: readonly I[],
  keyOf: (item: I) => string,
  outcomes: Map<string, ItemOutcome<R>>,
): R[] {
  return items.map((item) => {
    const outcome = outcomes.get(keyOf(item))!;
    if ("error" in outcome) throw outcome.error;
    return outcome.result;
  });
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}
