// The jobs board through its entry point (`sluice up --apps jobs`): the team's own commands against the services'
// ports, and the whole flow through the gateway, from registration to a deleted job that search forgets.

import assert from "node:assert/strict";
import { test } from "node:test";

import { TestClient } from "../../gateway/websocket/fixture.js";
import { jobsForTest, register, request, search, waitFor, type Account } from "./harness.js";

test(
  "the team's commands work as written against the user and job services' ports",
  { timeout: 120_000 },
  async (t) => {
    const board = await jobsForTest(t);

    // curl -X POST http://localhost:8001/api/users/register/ -H "Content-Type: application/json" -d '{…}'
    const registered = await fetch(`${board.users}/api/users/register/`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: '{"username":"test","email":"test@example.com","password":"test123","password_confirm":"test123","user_type":"employer"}',
    });
    assert.equal(registered.status, 201);
    const account = (await registered.json()) as { user: { username: string; user_type: string }; access: string };
    assert.equal(account.user.username, "test");
    assert.equal(account.user.user_type, "employer");

    // curl -X POST http://localhost:8002/api/jobs/ -H "Authorization: Bearer <token>" -H "Content-Type: …" -d '{…}'
    const posted = await fetch(`${board.jobs}/api/jobs/`, {
      method: "POST",
      headers: { Authorization: `Bearer ${account.access}`, "Content-Type": "application/json" },
      body: '{"title":"Test Job","description":"Test Description"}',
    });
    assert.equal(posted.status, 201);
    const job = (await posted.json()) as { id: string; title: string; version: number };
    assert.equal(job.title, "Test Job");
    assert.equal(job.version, 1);

    // curl http://localhost:8001/health/ (and 8002, 8003)
    for (const service of [board.users, board.jobs, board.applications]) {
      const health = await fetch(`${service}/health/`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { status: string }).status, "healthy");
    }
    const gateway = await request(`${board.url}/health/`);
    const states = (gateway.body as { services: Record<string, { status: string }> }).services;
    assert.deepEqual(Object.keys(states).sort(), [
      "analytics",
      "applications",
      "jobs",
      "notifications",
      "search",
      "users",
    ]);

    // The job service's port serves its own routes only; the gateway serves them all, also without the slash.
    assert.equal((await fetch(`${board.jobs}/api/users/me/`)).status, 404);
    assert.equal((await request(`${board.url}/api/jobs`)).status, 200);
    assert.equal((await request(`${board.url}/jobs/api/jobs/${job.id}`)).status, 200, "and under /jobs/ too");
  },
);

test(
  "the whole flow through the gateway, with notifications live and analytics counting each event once",
  { timeout: 120_000 },
  async (t) => {
    const board = await jobsForTest(t);
    const url = board.url;
    const employer = await register(url, "erin", "employer");
    const seeker = await register(url, "sam", "job_seeker");

    const ws = `${url.replace(/^http/, "ws")}/ws`;
    const live = await TestClient.open(t, ws, ["sluice.v1", `sluice.token.${employer.access}`]);
    live.send({ type: "subscribe", id: 1, topic: "jobs-notifications", key: employer.id });
    await live.waitForType("subscribed", 1);

    const posted = await request(`${url}/api/jobs/`, {
      headers: employer.headers,
      json: {
        title: "Senior Platform Engineer",
        description: "Kafka and PostgreSQL at scale",
        location: "Lisbon",
        remote: true,
      },
    });
    assert.equal(posted.status, 201, JSON.stringify(posted.body));
    const jobId = (posted.body as { id: string }).id;

    const postedAt = Date.now();
    await waitFor(
      "search finds the new job",
      async () => (await search(url, "engin")).some((r) => r.id === jobId),
      1_000,
    );
    t.diagnostic(`searchable after ${Date.now() - postedAt} ms`);
    const [hit] = await search(url, "platform engineer");
    assert.equal(hit?.id, jobId);
    assert.match(hit?.highlight ?? "", /<mark>Platform<\/mark>/);

    const apply = (account: Account) =>
      request(`${url}/api/applications/`, {
        headers: account.headers,
        json: { job_id: jobId, cover_letter: "Hire me" },
      });
    let applied = await apply(seeker);
    // The application service learns of the job from its event; a job posted this moment may not have arrived yet.
    await waitFor("the application service knows the job", async () => {
      if (applied.status === 201) return true;
      applied = await apply(seeker);
      return applied.status === 201;
    });
    const applicationId = (applied.body as { id: string }).id;
    assert.equal((await apply(seeker)).status, 409, "one application per job and person");

    const [notice] = await live.waitForEvents("jobs-notifications", 1);
    assert.equal(notice?.key, employer.id);
    assert.match(String((notice?.value as { message: string }).message), /sam applied to "Senior Platform Engineer"/);

    const mine = await request(`${url}/api/applications/`, { headers: employer.headers });
    assert.deepEqual(
      (mine.body as { results: Array<{ id: string }> }).results.map((application) => application.id),
      [applicationId],
    );

    const reviewed = await request(`${url}/api/applications/${applicationId}/`, {
      method: "PATCH",
      headers: employer.headers,
      json: { status: "accepted" },
    });
    assert.equal(reviewed.status, 200, JSON.stringify(reviewed.body));
    await waitFor("the applicant is notified of the status", async () => {
      const notes = await request(`${url}/api/notifications/`, { headers: seeker.headers });
      const results = (notes.body as { results: Array<{ kind: string; message: string }> }).results;
      return results.some((note) => note.kind === "application_status_changed" && note.message.includes("accepted"));
    });

    await waitFor("analytics counts every event", async () => {
      const summary = (await request(`${url}/api/analytics/summary/`)).body as {
        totals: Record<string, number>;
        funnel: Record<string, number>;
      };
      return summary.totals.application_status_changed === 1 && summary.funnel.accepted === 1;
    });
    const summary = (await request(`${url}/api/analytics/summary/`)).body as {
      totals: Record<string, number>;
      applications_per_job: Array<{ job_id: string; applications: number }>;
      funnel: Record<string, number>;
      per_hour: Array<{ event_type: string; count: number }>;
    };
    assert.deepEqual(summary.totals, {
      application_status_changed: 1,
      application_submitted: 1,
      job_created: 1,
      user_registered: 2,
    });
    assert.deepEqual(summary.applications_per_job, [
      { job_id: jobId, job_title: "Senior Platform Engineer", applications: 1 },
    ]);
    assert.deepEqual(summary.funnel, { submitted: 1, reviewed: 1, accepted: 1, rejected: 0 });
    assert.equal(
      summary.per_hour.reduce((sum, row) => sum + row.count, 0),
      5,
    );

    const deleted = await request(`${url}/api/jobs/${jobId}/`, { method: "DELETE", headers: employer.headers });
    assert.equal(deleted.status, 204);
    await waitFor("search forgets the deleted job", async () => (await search(url, "engineer")).length === 0);
    const late = await register(url, "lee", "job_seeker");
    await waitFor("the application service learns of the deletion", async () => (await apply(late)).status === 404);
  },
);

test("roles, ownership and bad input are refused with JSON errors", { timeout: 120_000 }, async (t) => {
  const board = await jobsForTest(t);
  const url = board.url;
  const employer = await register(url, "olga", "employer");
  const rival = await register(url, "rita", "employer");
  const seeker = await register(url, "sid", "job_seeker");

  const mismatch = await request(`${url}/api/users/register/`, {
    json: {
      username: "x1y",
      email: "x@example.com",
      password: "abcdef",
      password_confirm: "abcdeg",
      user_type: "employer",
    },
  });
  assert.equal(mismatch.status, 400);
  assert.deepEqual(
    { error: (mismatch.body as { error: string }).error, field: (mismatch.body as { field: string }).field },
    { error: "SLUICE_VALIDATION_FAILED", field: "password_confirm" },
  );
  const badType = await request(`${url}/api/users/register/`, {
    json: { username: "x1y", email: "x@example.com", password: "abcdef", user_type: "boss" },
  });
  assert.equal((badType.body as { field: string }).field, "user_type");
  const taken = await request(`${url}/api/users/register/`, {
    json: { username: "olga", email: "o2@example.com", password: "abcdef" },
  });
  assert.equal(taken.status, 409);
  const wrongPassword = await request(`${url}/api/users/login/`, { json: { username: "olga", password: "nope-nope" } });
  assert.equal(wrongPassword.status, 401);
  const notJson = await request(`${url}/api/jobs/`, {
    headers: { ...employer.headers, "content-type": "application/json" },
    body: "{",
    method: "POST",
  });
  assert.equal(notJson.status, 400);

  const job = { title: "Barista", description: "Coffee" };
  assert.equal((await request(`${url}/api/jobs/`, { json: job })).status, 401, "signed out");
  const bySeeker = await request(`${url}/api/jobs/`, { headers: seeker.headers, json: job });
  assert.equal(bySeeker.status, 403, "job seekers do not post jobs");
  const missingTitle = await request(`${url}/api/jobs/`, { headers: employer.headers, json: { description: "x" } });
  assert.equal((missingTitle.body as { field: string }).field, "title");
  const unknownField = await request(`${url}/api/jobs/`, { headers: employer.headers, json: { ...job, salary: 5 } });
  assert.equal((unknownField.body as { field: string }).field, "salary");

  const posted = await request(`${url}/api/jobs/`, { headers: employer.headers, json: job });
  const jobId = (posted.body as { id: string }).id;
  const byRival = await request(`${url}/api/jobs/${jobId}/`, {
    method: "PATCH",
    headers: rival.headers,
    json: { title: "Mine" },
  });
  assert.equal(byRival.status, 403, "only the owner changes a job");
  assert.equal((await request(`${url}/api/jobs/${jobId}/`, { method: "DELETE", headers: rival.headers })).status, 403);
  const byOwner = await request(`${url}/api/jobs/${jobId}/`, {
    method: "PATCH",
    headers: employer.headers,
    json: { title: "Head Barista" },
  });
  assert.equal((byOwner.body as { version: number }).version, 2);
  assert.equal((await request(`${url}/api/jobs/not-a-job/`)).status, 404);

  const byEmployer = await request(`${url}/api/applications/`, { headers: employer.headers, json: { job_id: jobId } });
  assert.equal(byEmployer.status, 403, "employers do not apply");
  let applied = await request(`${url}/api/applications/`, { headers: seeker.headers, json: { job_id: jobId } });
  await waitFor("the application is accepted", async () => {
    if (applied.status !== 201)
      applied = await request(`${url}/api/applications/`, { headers: seeker.headers, json: { job_id: jobId } });
    return applied.status === 201;
  });
  const applicationId = (applied.body as { id: string }).id;
  const status = (account: Account, value: string) =>
    request(`${url}/api/applications/${applicationId}/`, {
      method: "PATCH",
      headers: account.headers,
      json: { status: value },
    });
  assert.equal((await status(seeker, "accepted")).status, 403, "the applicant cannot accept themselves");
  assert.equal((await status(rival, "accepted")).status, 403, "nor another employer");
  assert.equal(((await status(employer, "hired")).body as { field: string }).field, "status");
  assert.equal((await status(employer, "reviewed")).status, 200);

  const me = await request(`${url}/api/users/me/`, {
    method: "PATCH",
    headers: seeker.headers,
    json: { bio: "Latte art" },
  });
  assert.equal((me.body as { bio: string }).bio, "Latte art");
  await waitFor("search indexes the profile", async () =>
    (await search(url, "latte", "users")).some((r) => r.username === "sid"),
  );
});
