// The CPU time the PostgreSQL server spends for one process of the benchmark: the backends serving that process's
// connections, found through its sockets (their local ports are the backends' client_port) and read from /proc. A
// server on this machine does the other half of a database-bound process's work, which the process's own CPU time
// leaves out. Null (printed "n/a") when the server is not local or /proc cannot be read.

import { readdirSync, readFileSync, readlinkSync } from "node:fs";

import pg from "pg";

import { processCpuMs } from "./common.js";

/** Local ports of pid's TCP connections to remotePort, from /proc/<pid>/fd and /proc/<pid>/net/tcp{,6}. */
function localPortsTo(pid: number, remotePort: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match !== null) inodes.add(match[1] as string);
    } catch {
      // The descriptor closed while the directory was read.
    }
  }
  const ports: number[] = [];
  for (const file of ["tcp", "tcp6"]) {
    let table: string;
    try {
      table = readFileSync(`/proc/${pid}/net/${file}`, "utf8");
    } catch {
      continue;
    }
    for (const line of table.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, remote, inode] = [fields[1], fields[2], fields[9]];
      if (local === undefined || remote === undefined || inode === undefined || !inodes.has(inode)) continue;
      if (parseInt(remote.split(":")[1] ?? "", 16) !== remotePort) continue;
      ports.push(parseInt(local.split(":")[1] ?? "", 16));
    }
  }
  return ports;
}

/** The server's backends serving clientPid's connections, with the CPU each has used so far (ms). */
async function backendCpu(url: string, clientPid: number): Promise<Map<number, number> | null> {
  const { hostname, port } = new URL(url);
  if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(hostname)) return null;
  let ports: number[];
  try {
    ports = localPortsTo(clientPid, Number(port || 5432));
  } catch {
    return null;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE client_port = ANY ($1::int[])",
      [ports],
    );
    const cpu = new Map<number, number>();
    for (const { pid } of rows) {
      const ms = processCpuMs(pid);
      if (ms !== null) cpu.set(pid, ms);
    }
    return cpu;
  } finally {
    await client.end();
  }
}

/**
 * Starts counting the server CPU spent for clientPid; the returned function says how many ms it was since. Backends
 * that appear in between count whole (they started during the measure); one that ended in between is missed.
 */
export async function startPostgresCpu(url: string, clientPid: number): Promise<() => Promise<number | null>> {
  const before = await backendCpu(url, clientPid).catch(() => null);
  return async () => {
    const after = await backendCpu(url, clientPid).catch(() => null);
    if (before === null || after === null) return null;
    let total = 0;
    for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
    return total;
  };
}
