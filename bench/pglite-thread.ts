// What running PGlite in a worker thread costs per statement, against PGlite on the calling thread: statements one
// after another (each waits for the one before, so the round trip between the threads shows) and many in flight at
// once, and small transactions of three statements. Prints a table of statements per second, and the CPU per
// statement of the calling thread and of the whole process (so the worker's share is their difference), which
// depend far less on what else loads the machine than the wall clock does.
// Run: npm run bench:pglite-thread [-- --statements 5000]

import { cpus } from "node:os";

import { createPgliteSnapshot, openDatabase, type Database, type PgliteThread } from "../src/store/index.js";
import { log, numberArgument, table } from "./common.js";

const args = process.argv.slice(2);
const STATEMENTS = numberArgument(args, "--statements", 5_000);
const IN_FLIGHT = 32;
const ROUNDS = 2;

interface Measure {
  seconds: number;
  mainCpuMs: number;
  processCpuMs: number;
}

/** Node 22.19+ has threadCpuUsage(), which its type definitions do not declare yet. */
const threadCpuUsage = (
  process as unknown as { threadCpuUsage(previous?: NodeJS.CpuUsage): NodeJS.CpuUsage }
).threadCpuUsage.bind(process);

async function measure(work: () => Promise<void>): Promise<Measure> {
  const mainBefore = threadCpuUsage();
  const processBefore = process.cpuUsage();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const main = threadCpuUsage(mainBefore);
  const whole = process.cpuUsage(processBefore);
  return { seconds, mainCpuMs: (main.user + main.system) / 1000, processCpuMs: (whole.user + whole.system) / 1000 };
}

const INSERT = "INSERT INTO bench_rows (payload) VALUES ($1)";

const workloads: Record<string, (database: Database) => Promise<void>> = {
  "SELECT 1, one at a time": async (database) => {
    for (let index = 0; index < STATEMENTS; index += 1) await database.query("SELECT 1");
  },
  [`INSERT, ${IN_FLIGHT} in flight`]: async (database) => {
    let next = 0;
    const client = async (): Promise<void> => {
      while (next < STATEMENTS) {
        next += 1;
        await database.query(INSERT, [`row ${next}`]);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, client));
  },
  [`transaction of 3 INSERTs, ${IN_FLIGHT} in flight`]: async (database) => {
    let next = 0;
    const client = async (): Promise<void> => {
      while (next < STATEMENTS) {
        next += 3;
        await database.transaction(async (tx) => {
          for (let row = 0; row < 3; row += 1) await tx.query(INSERT, [`row ${next} ${row}`]);
        });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, client));
  },
};

async function main(): Promise<void> {
  const snapshot = await createPgliteSnapshot();
  const rows: string[][] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    // Each round swaps which thread goes first, so that warming up favours neither.
    const threads: PgliteThread[] = round % 2 === 0 ? ["main", "worker"] : ["worker", "main"];
    for (const thread of threads) {
      const database = await openDatabase({ pgliteSnapshot: snapshot, pgliteThread: thread, migrate: false });
      try {
        await database.exec("CREATE TABLE bench_rows (id bigserial PRIMARY KEY, payload text NOT NULL)");
        for (const [name, workload] of Object.entries(workloads)) {
          log(`round ${round + 1}, ${thread} thread: ${name}…`);
          const result = await measure(() => workload(database));
          rows.push([
            name,
            thread,
            Math.round(STATEMENTS / result.seconds).toLocaleString("en-US"),
            ((result.mainCpuMs * 1000) / STATEMENTS).toFixed(1),
            ((result.processCpuMs * 1000) / STATEMENTS).toFixed(1),
          ]);
        }
      } finally {
        await database.close();
      }
    }
  }
  console.log(
    `\nnpm run bench:pglite-thread -- --statements ${STATEMENTS}  (node ${process.version}, ${cpus().length} cores, ` +
      `${ROUNDS} rounds, alternating)\n`,
  );
  console.log(
    table(
      ["workload", "PGlite thread", "statements/s", "calling thread CPU µs/statement", "process CPU µs/statement"],
      rows,
    ),
  );
}

await main();
