// Hands a notification to a subscriber without letting the subscriber's code disturb the connection that received it.

import type { StoreLogger } from "./database-types.js";
import { runOutsideTransactionScope } from "./transaction-scope.js";

/**
 * Calls onNotify on a later turn of the event loop, outside any transaction scope (PGlite reports a notification
 * while finishing the COMMIT that sent it), and logs instead of throwing when the subscriber fails.
 */
export function deliverNotification(
  channel: string,
  payload: string,
  onNotify: (payload: string) => void,
  logger: StoreLogger,
): void {
  runOutsideTransactionScope(() => {
    setImmediate(() => {
      try {
        onNotify(payload);
      } catch (error) {
        logger.error({ err: error, channel }, "a LISTEN subscriber threw while handling a notification");
      }
    });
  });
}
