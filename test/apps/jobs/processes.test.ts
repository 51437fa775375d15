// The team's commands against separate processes, the way their services ran in containers: a broker, the user
// service (`sluice up --only jobs-users --port 8001`) and the job service (`--only jobs-jobs --port 8002`), each its
// own process, sharing the Kafka cluster, a PostgreSQL server (a database of the test's own) and the token secret,
// given with the team's own environment names. The commands run verbatim, through curl, against ports 8001 and 8002
// (only <token> is filled in), so this test needs those two ports free.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { test } from "node:test";
import { promisify } from "node:util";

import pg from "pg";

import { hasCommand, requireTool, temporaryDir } from "../../helpers/environment.js";
import { adminQuery, SERVER_URL, requirePostgresServer } from "../../store/harness.js";
import { startUp, type UpProcess } from "../messages/up-process.js";

const SECRET = "the jobs board team's shared secret, long enough for HS256";

/** The team's commands, as their README gives them. */
const REGISTER_COMMAND = `curl -X POST http://localhost:8001/api/users/register/ -H "Content-Type: application/json" \\
  -d '{"username":"test","email":"test@example.com","password":"test123","password_confirm":"test123","user_type":"employer"}'`;
const POST_JOB_COMMAND = `curl -X POST http://localhost:8002/api/jobs/ -H "Authorization: Bearer <token>" -H "Content-Type: application/json" \\
  -d '{"title":"Test Job","description":"Test Description"}'`;
const HEALTH_COMMAND = "curl http://localhost:8001/health/";

/** Runs a shell command line and parses what it printed as JSON. */
async function runJson(command: string): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)("sh", ["-c", command], { timeout: 30_000 });
  try {
    return JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`${command}\nprinted ${stdout}`);
  }
}

/** Whether nothing listens on the port (on the loopback interface the services bind). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function jobsUrlOf(up: UpProcess): string {
  const url = /Jobs board +(http:\/\/\S+?)\/\s/.exec(up.output())?.[1];
  if (url === undefined) throw new Error(`no jobs board address printed\n${up.output()}`);
  return url.replace("127.0.0.1", "localhost");
}

test("the team's commands against the user and job services as separate processes", { timeout: 180_000 }, async (t) => {
  if (!(await requirePostgresServer(t))) return;
  if (!requireTool(t, hasCommand("curl"), "curl")) return;
  const free = await Promise.all([8001, 8002].map(portIsFree));
  if (!requireTool(t, free.every(Boolean), "ports 8001 and 8002 (something else listens there)")) return;
  const database = `sluice_jobs_${process.pid}`;
  await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${database}`);
  const databaseUrl = new URL(SERVER_URL);
  databaseUrl.pathname = `/${database}`;
  const processes: UpProcess[] = [];
  t.after(async () => {
    for (const up of processes) up.child.kill("SIGKILL");
    await Promise.all(processes.map((up) => up.exited));
    await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  const broker = await startUp([
    "--only",
    "broker",
    "--broker-port",
    "0",
    "--data-dir",
    temporaryDir(t),
    "--log-level",
    "warn",
  ]);
  processes.push(broker);
  const env = { DATABASE_URL: databaseUrl.toString(), KAFKA_BOOTSTRAP_SERVERS: broker.kafka, JWT_SECRET_KEY: SECRET };
  const [users, jobs] = await Promise.all(
    [
      ["jobs-users", "8001"],
      ["jobs-jobs", "8002"],
    ].map(([role, port]) =>
      startUp(
        ["--only", role as string, "--port", port as string, "--data-dir", temporaryDir(t), "--log-level", "warn"],
        env,
      ),
    ),
  );
  processes.push(users as UpProcess, jobs as UpProcess);
  const usersUrl = jobsUrlOf(users as UpProcess);
  const jobsUrl = jobsUrlOf(jobs as UpProcess);
  assert.equal(usersUrl, "http://localhost:8001");
  assert.equal(jobsUrl, "http://localhost:8002");

  const registered = await runJson(REGISTER_COMMAND);
  assert.equal((registered.user as { username: string }).username, "test", "the registration answers the user");
  const token = registered.access as string;
  assert.equal(typeof token, "string");

  const posted = await runJson(POST_JOB_COMMAND.replace("<token>", token));
  assert.equal(posted.title, "Test Job", "the job service accepts the user service's token");
  assert.equal(posted.version, 1);

  assert.deepEqual(await runJson(HEALTH_COMMAND), {
    status: "healthy",
    service: "users",
    database: "ok",
    cache: "in-process",
  });
  // The gateway as a process of its own, routing to the two services by their addresses.
  const gateway = await startUp(
    ["--only", "jobs-gateway", "--port", "0", "--data-dir", temporaryDir(t), "--log-level", "warn"],
    {
      ...env,
      JOBS_USERS_URL: usersUrl,
      JOBS_JOBS_URL: jobsUrl,
    },
  );
  processes.push(gateway);
  const gatewayUrl = jobsUrlOf(gateway);
  const listed = await fetch(`${gatewayUrl}/api/jobs/?page_size=5`);
  assert.equal(listed.status, 200);
  assert.equal(((await listed.json()) as { count: number }).count, 1, "the gateway forwards to the job service");
  const me = await fetch(`${gatewayUrl}/api/users/me/`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(((await me.json()) as { username: string }).username, "test", "and to the user service");
  const forged = await fetch(`${gatewayUrl}/api/jobs/`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token.slice(0, -4)}AAAA`, "Content-Type": "application/json" },
    body: '{"title":"Forged","description":"x"}',
  });
  assert.equal(forged.status, 401, "a bad token is refused at the gateway");
  const report = await fetch(`${gatewayUrl}/health/`);
  assert.equal(report.status, 503, "services that run nowhere known make the gateway unhealthy");
  const states = ((await report.json()) as { services: Record<string, { status: string }> }).services;
  assert.deepEqual(Object.fromEntries(Object.entries(states).map(([name, state]) => [name, state.status])), {
    users: "healthy",
    jobs: "healthy",
    applications: "not running here",
    search: "not running here",
    notifications: "not running here",
    analytics: "not running here",
  });

  const client = new pg.Client({ connectionString: databaseUrl.toString() });
  await client.connect();
  try {
    const tables = await client.query<{ schema: string; table: string }>(
      `SELECT table_schema AS schema, table_name AS table FROM information_schema.tables
       WHERE table_name IN ('users', 'jobs') ORDER BY table_name`,
    );
    assert.deepEqual(
      tables.rows,
      [
        { schema: "jobs_jobs", table: "jobs" },
        { schema: "jobs_users", table: "users" },
      ],
      "each service keeps its tables in its own schema",
    );
  } finally {
    await client.end();
  }
});
