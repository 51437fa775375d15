// `bench:http -- --ceiling`: what the same load reaches without the message board's pipeline, on the same machine,
// to show how far 32 clients' POSTs can go here at all. The servers are in http-ceiling-server.ts; this starts them
// and prints the table that sets them beside the board's own runs.

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

import { table } from "./common.js";

const SERVER_ENTRY = fileURLToPath(new URL("./http-ceiling-server.ts", import.meta.url));
const START_TIMEOUT_MS = 30_000;
/** The machine's cores, which the servers, PostgreSQL and (here) the load client share. */
const MACHINE_CORES = 2;

export type CeilingMode = "bare" | "gateway" | "insert";

export interface CeilingServer {
  url: string;
  pid: number;
  stop: () => Promise<void>;
}

/** Starts a ceiling server (insert: on the PostgreSQL server at url, in schema) and resolves once it listens. */
export async function startCeilingServer(
  mode: CeilingMode,
  database: { url: string; schema: string } | null,
): Promise<CeilingServer> {
  const args = ["--import", "tsx", SERVER_ENTRY, "--mode", mode];
  if (database !== null) args.push("--database-url", database.url, "--schema", database.schema);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${mode} ceiling server did not start`)), START_TIMEOUT_MS);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const line = output.split("\n")[0] ?? "";
      if (output.includes("\n") && line.startsWith("http")) {
        clearTimeout(timer);
        resolve(line.trim());
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the ${mode} ceiling server exited with ${String(code)} before it listened`));
    });
  });
  return {
    url,
    pid: child.pid ?? 0,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface CeilingRow {
  what: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU per request, in ms: the server process, PostgreSQL's backends (null without a database), the load client. */
  serverCpuMs: number;
  databaseCpuMs: number | null;
  clientCpuMs: number;
}

/** The table: each row's figures, and what two cores would carry at its CPU per request. */
export function formatCeilingTable(rows: readonly CeilingRow[]): string {
  return table(
    [
      "server",
      "requests/s",
      "p50 ms",
      "p99 ms",
      "server CPU ms/request",
      "PostgreSQL CPU ms/request",
      "load client CPU ms/request",
      "2 cores carry, requests/s (server + PostgreSQL)",
      "… with the client too",
    ],
    rows.map((row) => {
      const serverSide = row.serverCpuMs + (row.databaseCpuMs ?? 0);
      return [
        row.what,
        Math.round(row.requestsPerSecond).toLocaleString("en-US"),
        row.p50Ms.toFixed(1),
        row.p99Ms.toFixed(1),
        row.serverCpuMs.toFixed(3),
        row.databaseCpuMs === null ? "-" : row.databaseCpuMs.toFixed(3),
        row.clientCpuMs.toFixed(3),
        Math.round((MACHINE_CORES * 1000) / serverSide).toLocaleString("en-US"),
        Math.round((MACHINE_CORES * 1000) / (serverSide + row.clientCpuMs)).toLocaleString("en-US"),
      ];
    }),
  );
}
