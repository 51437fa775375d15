// A TCP proxy a test can cut: every connection through it is dropped at once and new ones are refused until it is
// restored. It stands in for a broker outage (or a dropped connection) without touching a server other tests share.
// It can also stall: connections stay open (and new ones are accepted) but nothing goes through, as with a stuck
// server or a path that lost its packets. Or it can hold: new connections are accepted and reach the server, but
// what either side sends waits in the proxy until it is released, to catch a client in the middle of connecting.

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
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections accepted from now on forward nothing until release(); what they carry meanwhile waits. */
  hold(): void;
  /** Forwards what the held connections carried, and forwards from now on. */
  release(): void;
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
  let holding = false;
  let accepted = 0;
  const held: Array<() => void> = [];
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    accepted += 1;
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
    // Written by hand rather than piped, so that a stall can swallow what arrives and a hold keep it.
    let waiting: Array<[Socket, Buffer]> | null = holding ? [] : null;
    const forward = (to: Socket, chunk: Buffer): void => {
      if (stalled) return;
      if (waiting !== null) waiting.push([to, chunk]);
      else to.write(chunk);
    };
    if (waiting !== null) {
      held.push(() => {
        const chunks = waiting ?? [];
        waiting = null;
        for (const [to, chunk] of chunks) to.write(chunk);
      });
    }
    client.on("data", (chunk: Buffer) => forward(upstream, chunk));
    upstream.on("data", (chunk: Buffer) => forward(client, chunk));
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
    get accepted() {
      return accepted;
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const flush of held.splice(0)) flush();
    },
    close,
  };
}
