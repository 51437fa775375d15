// A TCP proxy a test can cut: every connection through it is dropped at once and new ones are refused until it is
// restored. It stands in for a broker outage (or a dropped connection) without touching a server other tests share.
// It can also stall: connections stay open (and new ones are accepted) but nothing goes through, as with a stuck
// server or a path that lost its packets.

import { createServer, connect, type Server, type Socket } from "node:net";

export interface TcpProxy {
  readonly port: number;
  /** Drops every open connection and refuses new ones. */
  cut(): void;
  /** Accepts and forwards connections again. */
  restore(): void;
  /** Forwards nothing from now on, on the open connections and on new ones, which are still accepted. */
  stall(): void;
  /** Ends a stall: the stalled connections (which lost what was sent meanwhile) are dropped, new ones forward. */
  unstall(): void;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a proxy to target. The caller closes it, after the clients that use it (test hooks run in the order they
 * were added, so a hook added by the proxy itself would cut the clients off before they could close).
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let refusing = false;
  let stalled = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    // Written by hand rather than piped, so that a stall can swallow what arrives.
    client.on("data", (chunk: Buffer) => {
      if (!stalled) upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!stalled) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the proxy has no port");
  const dropConnections = (): void => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  const close = async (): Promise<void> => {
    refusing = true;
    dropConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    port: address.port,
    cut() {
      refusing = true;
      dropConnections();
    },
    restore() {
      refusing = false;
    },
    stall() {
      stalled = true;
    },
    unstall() {
      dropConnections();
      stalled = false;
    },
    close,
  };
}
