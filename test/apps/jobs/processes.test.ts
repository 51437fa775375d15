// The team's commands against separate processes, the way their services ran in containers: a broker, the user
// service (`sluice up --only jobs-users`) and the job service (`--only jobs-jobs`), each its own process, sharing
// the Kafka cluster, a PostgreSQL server (a database of the test's own) and the token secret, given with the team's
// own environment names.

import assert from "node:assert/strict";
import { test } from "node:test";

import pg from "pg";

import { temporaryDir } from "../../helpers/environment.js";
import { adminQuery, SERVER_URL, serverUnreachableReason } from "../../store/harness.js";
import { startUp, type UpProcess } from "../messages/up-process.js";

const SECRET = "the jobs board team's shared secret, long enough for HS256";

function jobsUrlOf(up: UpProcess): string {
  const url = /Jobs board +(http:\/\/\S+?)\/\s/.exec(up.output())?.[1];
  if (url === undefined) throw new Error(`no jobs board address printed\n${up.output()}`);
  return url.replace("127.0.0.1", "localhost");
}

test("the team's commands against the user and job services as separate processes", { timeout: 180_000 }, async (t) => {
  const unreachable = await serverUnreachableReason();
  if (unreachable !== null) {
    const message = `PostgreSQL server not reachable at ${SERVER_URL}: ${unreachable}`;
    console.error(`\n*** SKIPPED: ${message} ***\n`);
    t.skip(message);
    return;
  }
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
    ["jobs-users", "jobs-jobs"].map((role) =>
      startUp(["--only", role, "--port", "0", "--data-dir", temporaryDir(t), "--log-level", "warn"], env),
    ),
  );
  processes.push(users as UpProcess, jobs as UpProcess);
  const usersUrl = jobsUrlOf(users as UpProcess);
  const jobsUrl = jobsUrlOf(jobs as UpProcess);

  // curl -X POST http://localhost:8001/api/users/register/ -H "Content-Type: application/json" -d '{…}'
  const registered = await fetch(`${usersUrl}/api/users/register/`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: '{"username":"test","email":"test@example.com","password":"test123","password_confirm":"test123","user_type":"employer"}',
  });
  assert.equal(registered.status, 201);
  const token = ((await registered.json()) as { access: string }).access;

  // curl -X POST http://localhost:8002/api/jobs/ -H "Authorization: Bearer <token>" -H "Content-Type: …" -d '{…}'
  const posted = await fetch(`${jobsUrl}/api/jobs/`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: '{"title":"Test Job","description":"Test Description"}',
  });
  assert.equal(posted.status, 201, "the job service accepts the user service's token");

  // curl http://localhost:8001/health/
  const health = await fetch(`${usersUrl}/health/`);
  assert.equal(health.status, 200);
  assert.deepEqual(
    { ...((await health.json()) as Record<string, unknown>) },
    { status: "healthy", service: "users", database: "ok", cache: "in-process" },
  );
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
