// CPU time per event for bench:toolkit, by where it is spent: this process (the toolkit, and PGlite or the embedded
// Kafka broker when they run here), the RabbitMQ server, and this run's own backends of the PostgreSQL server. Wall
// -clock rates on a shared machine are floors; CPU per event is not, and says which part a faster run would need.
// The servers' figures come from /proc, so they are there only when the servers run on this machine (else "-").

import { readdirSync, readFileSync } from "node:fs";

import pg from "pg";

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU milliseconds used so far by each process whose command is `command`, by pid; empty without /proc. */
function cpuMsByPid(command: string): Map<number, number> {
  const byPid = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return byPid;
  }
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) !== command) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      byPid.set(Number(entry), ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND);
    } catch {
      // The process ended meanwhile.
    }
  }
  return byPid;
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/** The pids of the PostgreSQL backends serving connections named applicationName (this run's pool). */
async function backendPids(serverUrl: string, applicationName: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: serverUrl, application_name: "sluice-bench-cpu" });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
      [applicationName],
    );
    return rows.map((row) => row.pid);
  } catch {
    return [];
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface CpuMeter {
  /** "process + RabbitMQ + PostgreSQL" µs per event since the meter started. */
  perEvent(events: number): Promise<string>;
}

/**
 * Starts measuring. postgres names this run's server connections (their application_name) when the database is the
 * PostgreSQL server; its other clients' work is not counted. A backend that closed before the end is missed.
 */
export function startCpuMeter(postgres: { url: string; applicationName: string } | null): CpuMeter {
  const processBefore = process.cpuUsage();
  const rabbitmqBefore = cpuMsByPid("beam.smp");
  const postgresBefore = postgres === null ? null : cpuMsByPid("postgres");
  return {
    async perEvent(events) {
      const processUsage = process.cpuUsage(processBefore);
      const processMs = (processUsage.user + processUsage.system) / 1000;
      // The Erlang VMs running at the start and still at the end: the server's. A `rabbitmqctl` is a VM too; one gone
      // by the end made the sum fall, one started meanwhile added its own CPU.
      const rabbitmq = cpuMsByPid("beam.smp");
      const rabbitmqMs =
        rabbitmqBefore.size === 0
          ? null
          : sum([...rabbitmqBefore].map(([pid, before]) => (rabbitmq.get(pid) ?? before) - before));
      let postgresMs: number | null = null;
      if (postgres !== null && postgresBefore !== null && postgresBefore.size > 0) {
        const now = cpuMsByPid("postgres");
        const pids = await backendPids(postgres.url, postgres.applicationName);
        postgresMs = sum(pids.map((pid) => (now.get(pid) ?? 0) - (postgresBefore.get(pid) ?? 0)));
      }
      const micros = (ms: number | null): string => (ms === null ? "-" : ((ms * 1000) / events).toFixed(0));
      return `${micros(processMs)} + ${micros(rabbitmqMs)} + ${micros(postgresMs)}`;
    },
  };
}
