// The console in a real browser (headless Chromium driven by playwright-core) against an embedded broker: browse a
// topic's messages and filter them on the server, produce a message, reset a group's offsets after previewing them,
// and a viewer who is shown no way to change anything and is refused when trying anyway.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, test, type TestContext } from "node:test";

import { chromium, type Browser, type Page } from "playwright-core";

import { requireTool } from "../helpers/environment.js";
import { parkedRowsForTest } from "../helpers/parked-rows.js";
import { consoleForTest, requiredAuthForTest, type ConsoleScene } from "../console/harness.js";
import type { Auth } from "../../src/gateway/auth/auth.js";
import { deadLetterHeaders, deadLetterTopicName } from "../../src/toolkit/dead-letter.js";
import { listParkedOutboxRows, openDatabase, runMigrations, type Database } from "../../src/store/index.js";
import { EVENT_HEADERS } from "../../src/toolkit/event.js";
import { createKafkaClient } from "../../src/toolkit/index.js";

const CHROMIUM_PATH = process.env.SLUICE_CHROMIUM_PATH ?? "/usr/bin/chromium";
const STEP_TIMEOUT_MS = 15_000;

async function consoleInBrowser(
  t: TestContext,
  auth: Auth | null = null,
  database: Database | null = null,
): Promise<{ scene: ConsoleScene; url: string; browser: Browser } | null> {
  if (!requireTool(t, existsSync(CHROMIUM_PATH), `Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`))
    return null;
  const scene = await consoleForTest(t, { auth, database });
  const url = await scene.gateway.listen();
  return { scene, url, browser: await sharedBrowser() };
}

// One Chromium for the file: every test opens its pages in contexts of their own (browser.newPage makes one per page)
// and closes them when it ends, so the tests share nothing but the browser process.
let launched: Promise<Browser> | null = null;
function sharedBrowser(): Promise<Browser> {
  launched ??= chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ["--no-sandbox"] });
  return launched;
}
after(async () => {
  if (launched !== null) await (await launched).close();
});

async function open(t: TestContext, browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  t.after(() => page.close());
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(url);
  return Object.assign(page, { errors });
}

test(
  "the console in a browser: browse, filter, produce, reset offsets with preview",
  { timeout: 120_000 },
  async (t) => {
    const started = await consoleInBrowser(t);
    if (started === null) return;
    const { scene, url, browser } = started;
    await scene.kafka.admin.createTopics([{ name: "orders", partitions: 2 }]);
    for (let partition = 0; partition < 2; partition++) {
      await scene.kafka.produce({
        topic: "orders",
        partition,
        records: Array.from({ length: 20 }, (_, index) => ({
          key: `customer-${index}`,
          value: JSON.stringify({ order: `order-${partition}-${index}`, cents: index * 100 }),
        })),
      });
    }

    const page = await open(t, browser, `${url}/console/topics`);
    await page.locator('#topics tr[data-topic="orders"]').waitFor();
    await page.locator("#topics a", { hasText: "orders" }).first().click();
    await page.waitForURL(`${url}/console/topics/orders`);
    await page.locator("#partitions tbody tr").first().waitFor();
    assert.equal(await page.locator("#partitions tbody tr").count(), 2);

    await t.test("browse newest first, then one partition from an offset (the URL says which)", async () => {
      await page.goto(`${url}/console/topics/orders/messages`);
      await page.locator("tr.message").first().waitFor();
      assert.equal(await page.locator("tr.message").count(), 40);
      await page.locator("#partition").selectOption("1");
      await page.locator("#mode").selectOption("offset");
      await page.locator("#offset").fill("15");
      await page.locator("#browse button[type=submit]").click();
      await page.waitForURL(/partition=1&offset=15/);
      await page.locator('tr.message[data-offset="15"]').waitFor();
      assert.equal(await page.locator("tr.message").count(), 5);
      await page.locator('tr.message[data-offset="15"]').click();
      await page.locator(".value-block", { hasText: '"order": "order-1-15"' }).waitFor();
      await page.locator('.chip[data-encoding="hex"]').click();
      assert.match(await page.locator(".value-block").innerText(), /^7b 22 6f 72/);
    });

    await t.test("a server-side filter finds the matches and reports the scan", async () => {
      await page.goto(`${url}/console/topics/orders/messages`);
      await page.locator("#filter-value").fill("order-0-1");
      await page.locator("#search-start").click();
      await page.locator('#messages-status[data-done="true"]').waitFor();
      // order-0-1 and order-0-10 … order-0-19.
      assert.equal(await page.locator("tr.message").count(), 11);
      assert.match(
        await page.locator("#messages-status").innerText(),
        /11 match\(es\) in 40 scanned messages \(scanned to the end\)/,
      );
    });

    await t.test("produce a message from the form and see it listed", async () => {
      await page.locator("#produce-key").fill("browser-key");
      await page.locator("#produce-value").fill('{"from":"the browser"}');
      await page.locator("#produce-headers").fill("origin: e2e");
      await page.locator("#produce button[type=submit]").click();
      await page.locator("tr.message", { hasText: "browser-key" }).waitFor();
      const browsed = await scene.kafka.admin.topicOffsets("orders");
      assert.equal(
        browsed.reduce((sum, entry) => sum + entry.latest, 0),
        41,
      );
    });

    await t.test("reset a group's offsets: the preview shows the change, applying commits it", async () => {
      await scene.kafka.admin.commitGroupOffsets("billing", [
        { topic: "orders", partition: 0, offset: 20 },
        { topic: "orders", partition: 1, offset: 20 },
      ]);
      await page.goto(`${url}/console/groups`);
      await page.locator("#groups a", { hasText: "billing" }).click();
      await page.waitForURL(`${url}/console/groups/billing`);
      await page.locator("#reset-topic").fill("orders");
      await page.locator("#reset-to").selectOption("shift");
      await page.locator("#reset-amount").fill("-5");
      await page.locator("#reset-preview-button").click();
      await page.locator("#reset-preview-table tbody tr").first().waitFor();
      const preview = await page.locator("#reset-preview-table tbody tr").allInnerTexts();
      assert.equal(preview.length, 2);
      for (const row of preview) assert.match(row, /20\s+15\s+-5/);
      const before = await scene.kafka.admin.fetchGroupOffsets("billing");
      assert.deepEqual(
        before.map((entry) => entry.offset),
        [20, 20],
        "a preview commits nothing",
      );
      await page.locator("#reset-apply").click();
      await page.locator("#offsets tbody tr", { hasText: "15" }).first().waitFor();
      const after = await scene.kafka.admin.fetchGroupOffsets("billing");
      assert.deepEqual(after.map((entry) => entry.offset).sort(), [15, 15]);
    });
    assert.deepEqual((page as Page & { errors: string[] }).errors, []);
  },
);

test("the console in a browser: live tail shows new messages, pauses and resumes", { timeout: 90_000 }, async (t) => {
  const started = await consoleInBrowser(t);
  if (started === null) return;
  const { scene, url, browser } = started;
  await scene.kafka.admin.createTopics([{ name: "clicks", partitions: 2 }]);
  await scene.kafka.produce({ topic: "clicks", partition: 0, records: [{ key: "old", value: "before the tail" }] });
  const produce = (partition: number, value: string) =>
    scene.kafka.produce({ topic: "clicks", partition, records: [{ key: `k-${value}`, value }] });

  const page = await open(t, browser, `${url}/console/topics/clicks/messages`);
  await page.locator("tr.message").first().waitFor();
  await page.locator("#live-start").click();
  await page.waitForURL(/live=true/);
  await page.locator('#live[data-state="following"]').waitFor();
  assert.equal(await page.locator("tr.message").count(), 0, "the tail starts at the end: nothing old is shown");

  await produce(0, "first live");
  await produce(1, "second live");
  await page.locator("tr.message", { hasText: "second live" }).waitFor();
  await page.locator("tr.message", { hasText: "first live" }).waitFor();
  assert.match(await page.locator("#messages-status").innerText(), /Live: 2 message\(s\)/);

  await page.locator("#live-pause").click();
  await page.locator('#live[data-state="paused"]').waitFor();
  await produce(0, "while paused");
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.equal(
    await page.locator("tr.message", { hasText: "while paused" }).count(),
    0,
    "a paused tail shows nothing new",
  );

  await page.locator("#live-pause").click();
  await page.locator("tr.message", { hasText: "while paused" }).waitFor();
  await produce(1, "after resume");
  await page.locator("tr.message", { hasText: "after resume" }).waitFor();
  // Newest first: the last one produced heads the table.
  assert.match(await page.locator("tr.message").first().innerText(), /after resume/);
  assert.equal(await page.locator("tr.message").count(), 4);

  // The page keeps the newest TAIL_BUFFER_MESSAGES and drops older ones.
  for (let round = 0; round < 3; round++) {
    await scene.kafka.produce({
      topic: "clicks",
      partition: 0,
      records: Array.from({ length: 200 }, (_, index) => ({ value: `bulk-${round}-${index}` })),
    });
    await page.locator("tr.message", { hasText: `bulk-${round}-199` }).waitFor();
  }
  assert.equal(await page.locator("tr.message").count(), 500);
  assert.equal(await page.locator("tr.message", { hasText: "after resume" }).count(), 0, "the oldest were dropped");
  assert.match(
    await page.locator("#messages-status").innerText(),
    /Live: 500 message\(s\), newest first, keeping the newest 500/,
  );

  await page.locator("#live-stop").click();
  await page.waitForURL((address) => !address.search.includes("live=true"));
  await waitFor(() => scene.console.liveTails() === 0, "the server to release the tail");
  assert.deepEqual((page as Page & { errors: string[] }).errors, []);
});

test("the console in a browser: create a topic with partitions and configs", { timeout: 60_000 }, async (t) => {
  const started = await consoleInBrowser(t);
  if (started === null) return;
  const { scene, url, browser } = started;
  const page = await open(t, browser, `${url}/console/topics`);
  await page.locator("#create-topic").waitFor();
  await page.locator('#create-topic input[name="name"]').fill("ledger.compacted");
  await page.locator('#create-topic input[name="partitions"]').fill("3");
  await page.locator("#create-configs").fill("retention.ms=3600000, cleanup.policy=compact");
  await page.locator("#create-topic button[type=submit]").click();
  await page.waitForURL(`${url}/console/topics/ledger.compacted`);
  await page.locator("#partitions tbody tr").first().waitFor();
  assert.equal(await page.locator("#partitions tbody tr").count(), 3);
  const [described] = await scene.kafka.admin.describeConfigs([
    { type: "topic", name: "ledger.compacted", keys: ["retention.ms", "cleanup.policy"] },
  ]);
  assert.deepEqual(Object.fromEntries(described!.configs.map((entry) => [entry.name, entry.value])), {
    "retention.ms": "3600000",
    "cleanup.policy": "compact",
  });
  await page.locator("#overridden-configs tbody tr").first().waitFor();
  assert.deepEqual(
    (await page.locator("#overridden-configs tbody tr td:first-child").allInnerTexts()).sort(),
    ["cleanup.policy", "retention.ms"],
    "exactly the configs set on the topic are listed as set on it",
  );

  await page.goto(`${url}/console/topics`);
  await page.locator('#create-topic input[name="name"]').fill("bad-configs");
  await page.locator("#create-configs").fill("retention.ms");
  await page.locator("#create-topic button[type=submit]").click();
  await page.locator("#create-topic .form-error", { hasText: '"retention.ms" is not name=value' }).waitFor();
  assert.deepEqual((page as Page & { errors: string[] }).errors, []);
});

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test(
  "the console in a browser: a viewer sees but is offered no change and is refused one",
  { timeout: 60_000 },
  async (t) => {
    const { auth, password } = await requiredAuthForTest(t);
    const started = await consoleInBrowser(t, auth);
    if (started === null) return;
    const { scene, url, browser } = started;
    await scene.kafka.admin.createTopics([{ name: "ledger", partitions: 1 }]);

    const page = await open(t, browser, `${url}/console/topics`);
    await page.locator("#sign-in").waitFor();
    await page.locator('#sign-in input[name="username"]').fill("bob");
    await page.locator('#sign-in input[name="password"]').fill(password);
    await page.locator("#sign-in button[type=submit]").click();
    await page.locator('#topics tr[data-topic="ledger"]').waitFor();
    assert.match(await page.locator("#who").innerText(), /bob \(viewer\)/);
    assert.equal(await page.locator("#create-topic").count(), 0, "no create form for a viewer");
    await page.goto(`${url}/console/topics/ledger/messages`);
    await page.locator("#messages-status").waitFor();
    assert.equal(await page.locator("#produce").count(), 0, "no produce form for a viewer");
    const refused = await page.evaluate(async () => {
      const response = await fetch("/console/api/topics/ledger/messages", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${localStorage.getItem("sluice-console-token")}`,
        },
        body: JSON.stringify({ value: "sneaky" }),
      });
      return { status: response.status, body: await response.json() };
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error, "SLUICE_FORBIDDEN");
    assert.deepEqual(
      (await scene.kafka.admin.topicOffsets("ledger")).map((entry) => entry.latest),
      [0],
      "nothing was produced",
    );
  },
);

test("the console in a browser: redrive a selected dead letter after a dry run", { timeout: 60_000 }, async (t) => {
  const started = await consoleInBrowser(t);
  if (started === null) return;
  const { scene, url, browser } = started;
  Object.assign(scene.console.context, {
    toolkitKafka: createKafkaClient({ brokers: [scene.brokerAddress], env: {} }),
  });
  await scene.kafka.admin.createTopics([
    { name: "invoices", partitions: 1 },
    { name: deadLetterTopicName("invoices"), partitions: 1 },
  ]);
  const ids = ["00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"];
  await scene.kafka.produce({
    topic: deadLetterTopicName("invoices"),
    partition: 0,
    records: ids.map((eventId, index) => ({
      key: `invoice-${index}`,
      value: JSON.stringify({ invoice: index }),
      headers: Object.entries(
        deadLetterHeaders({ [EVENT_HEADERS.id]: eventId }, eventId, {
          originalTopic: "invoices",
          originalPartition: 0,
          originalOffset: String(index),
          error: `invoice ${index} failed`,
          errorCode: "SLUICE_HANDLER_FAILED",
          attempts: 4,
          time: new Date(Date.UTC(2026, 0, 1, 12, index)),
          consumerGroup: "mailer",
        }),
      ).map(([key, value]) => ({ key, value })),
    })),
  });

  const page = await open(t, browser, `${url}/console/dead-letters`);
  await page.locator("#dead-letter-topics a", { hasText: "invoices" }).click();
  await page.locator("#dead-letters tbody tr").first().waitFor();
  assert.equal(await page.locator("#dead-letters tbody tr").count(), 2);
  await page.locator("#dead-letters tbody tr", { hasText: "invoice 1 failed" }).locator("input[type=checkbox]").check();
  await page.locator("#redrive-selected-dry").click();
  await page.locator("#redrive-result", { hasText: "Dry run: 1 dead letter(s) would go back" }).waitFor();
  assert.equal((await scene.kafka.admin.topicOffsets("invoices"))[0]!.latest, 0, "a dry run sends nothing");
  await page.locator("#redrive-selected").click();
  await page.locator("#redrive-result", { hasText: "Sent 1 dead letter(s) back to invoices" }).waitFor();
  const [back] = await scene.kafka.fetch([{ topic: "invoices", partition: 0, offset: 0 }], { maxWaitMs: 0 });
  assert.deepEqual(
    back!.records.map((record) => record.key?.toString()),
    ["invoice-1"],
  );
});

test(
  "the console in a browser: outbox rows the relay parked are listed with why, and requeued, chosen ones or all",
  { timeout: 60_000 },
  async (t) => {
    const database = await openDatabase({});
    t.after(() => database.close());
    const service = database.withSchema("billing_service");
    await runMigrations(service);
    const parked = await parkedRowsForTest(service, "invoices", ["invoice-7", "invoice-8"]);
    const started = await consoleInBrowser(t, null, database);
    if (started === null) return;
    const { url, browser } = started;

    const page = await open(t, browser, `${url}/console/outbox`);
    await page.locator("h3", { hasText: "Parked rows: 2" }).waitFor();
    const parkedRows = page.locator("section.parked tr", { hasText: "MESSAGE_TOO_LARGE" });
    assert.equal(await parkedRows.count(), 2);
    assert.match(await parkedRows.first().innerText(), /invoices/);

    await page.getByLabel(`select row ${parked[0]!.id}`).check();
    await page.locator("section.parked button.requeue-selected").click();
    await page.locator("h3", { hasText: "Parked rows: 1" }).waitFor();
    assert.deepEqual(
      (await listParkedOutboxRows(service)).map((row) => row.id),
      [parked[1]!.id],
    );
    await page.locator("section.parked button.requeue-all").click();
    await page.locator("section.parked").waitFor({ state: "detached" });
    assert.deepEqual(await listParkedOutboxRows(service), []);
    // Both went back to the outbox as new rows waiting for the relay.
    assert.match(await page.locator("tr", { hasText: "invoices" }).first().innerText(), /invoices\s+2/);
    assert.deepEqual((page as Page & { errors: string[] }).errors, []);
  },
);
