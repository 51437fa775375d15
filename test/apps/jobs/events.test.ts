// The jobs board's consumers under eventual consistency: events of one job delivered out of order leave the newest
// version in the search index and a deleted job deleted; an event delivered twice counts and notifies once. The
// events are written straight to the topics, on one partition, so that a last "sentinel" event shows when the
// consumers have handled everything before it.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { applicationEvents, jobEvents } from "../../../src/apps/jobs/events.js";
import {
  createKafkaClient,
  createRawPublisher,
  encodeEvent,
  type TopicDefinition,
} from "../../../src/toolkit/index.js";
import { jobsForTest, register, request, search, waitFor } from "./harness.js";

type JobsEvent = { event_type: string; data: { id: string; version: number } & Record<string, unknown> };

function job(id: string, version: number, title: string) {
  const at = new Date().toISOString();
  return {
    id,
    version,
    employer_id: "employer-1",
    title,
    description: `${title} wanted`,
    company: "Acme",
    location: "Porto",
    remote: false,
    created_at: at,
    updated_at: at,
  };
}

test(
  "events out of order keep the newest version, and a delivery twice counts and notifies once",
  { timeout: 120_000 },
  async (t) => {
    const board = await jobsForTest(t);
    const url = board.url;
    const client = createKafkaClient({ brokers: [board.system.addresses.kafka], env: {} });
    const publisher = await createRawPublisher(client);
    t.after(() => publisher.close());
    /** Publishes events in this order on partition 0, each once unless listed twice (the same encoded event). */
    const publish = async (
      topic: TopicDefinition<JobsEvent>,
      events: Array<{ event: JobsEvent; eventId?: string }>,
    ) => {
      const encoded = await Promise.all(
        events.map(({ event, eventId }) => encodeEvent(topic, event, eventId === undefined ? {} : { eventId })),
      );
      await publisher.publish(
        topic.name,
        encoded.map((record) => ({ key: record.key, value: record.value, headers: record.headers, partition: 0 })),
      );
    };
    const jobs = jobEvents as unknown as TopicDefinition<JobsEvent>;
    const applications = applicationEvents as unknown as TopicDefinition<JobsEvent>;

    const late = randomUUID();
    const firstSentinel = randomUUID();
    await publish(jobs, [
      { event: { event_type: "job_updated", data: job(late, 2, "Gardener (updated)") } },
      { event: { event_type: "job_created", data: job(late, 1, "Gardener") } },
      { event: { event_type: "job_created", data: job(firstSentinel, 1, "Lighthouse keeper") } },
    ]);
    await waitFor("search indexes the sentinel", async () => (await search(url, "lighthouse")).length === 1);
    const [gardener] = await search(url, "gardener");
    assert.equal(gardener?.title, "Gardener (updated)", "the late job_created did not overwrite version 2");
    assert.equal(gardener?.version, 2);

    const secondSentinel = randomUUID();
    await publish(jobs, [
      { event: { event_type: "job_deleted", data: { id: late, version: 3, employer_id: "employer-1" } } },
      { event: { event_type: "job_updated", data: job(late, 2, "Gardener (zombie)") } },
      { event: { event_type: "job_created", data: job(secondSentinel, 1, "Beekeeper") } },
    ]);
    await waitFor("search indexes the second sentinel", async () => (await search(url, "beekeeper")).length === 1);
    assert.deepEqual(await search(url, "gardener"), [], "an older event does not bring a deleted job back");

    const employer = await register(url, "emma", "employer");
    const duplicate = randomUUID();
    const submitted: JobsEvent = {
      event_type: "application_submitted",
      data: {
        id: randomUUID(),
        version: 1,
        job_id: firstSentinel,
        job_title: "Lighthouse keeper",
        employer_id: employer.id,
        applicant_id: "applicant-1",
        applicant_username: "ahab",
        status: "submitted",
      },
    };
    await publish(applications, [
      { event: submitted, eventId: duplicate },
      { event: submitted, eventId: duplicate },
    ]);
    const summary = async () =>
      (await request(`${url}/api/analytics/summary/`)).body as {
        totals: Record<string, number>;
        funnel: Record<string, number>;
      };
    await waitFor(
      "analytics counts the submitted application",
      async () => (await summary()).totals.application_submitted === 1,
    );
    const sentinel = randomUUID();
    await publish(jobs, [{ event: { event_type: "job_created", data: job(sentinel, 1, "Cartographer") } }]);
    await waitFor("analytics counts the last event", async () => (await summary()).totals.job_created === 4);
    const totals = (await summary()).totals;
    assert.equal(totals.application_submitted, 1, "the event delivered twice counts once");
    assert.equal(totals.job_updated, 2, "both job_updated events are events, whatever their versions");
    assert.equal((await summary()).funnel.submitted, 1);

    const kinds = async () => {
      const notes = await request(`${url}/api/notifications/`, { headers: employer.headers });
      return (notes.body as { results: Array<{ kind: string }> }).results.map((note) => note.kind).sort();
    };
    await waitFor("the employer is notified", async () => (await kinds()).includes("application_submitted"));
    const notifySentinel: JobsEvent = {
      ...submitted,
      data: { ...submitted.data, id: randomUUID(), applicant_username: "ishmael" },
    };
    await publish(applications, [{ event: notifySentinel }]);
    await waitFor("the notification sentinel arrives", async () => (await kinds()).length === 3);
    assert.deepEqual(
      await kinds(),
      ["application_submitted", "application_submitted", "welcome"],
      "notified once per application",
    );
    const marked = await request(`${url}/api/notifications/read/`, { headers: employer.headers, method: "POST" });
    assert.equal((marked.body as { marked_read: number }).marked_read, 3);
  },
);
