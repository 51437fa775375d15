// Views whose data needs more than the Kafka protocol: dead letters (the toolkit's dead-letter topics, redriven with
// its redrive) and schemas (the registry); the outbox and inbox are in view-outbox.js. Each says what it needs when
// that is not configured.

import { canChange, session } from "./app.js";
import { get, post, put } from "./api.js";
import { empty, errorBox, h, link, notice, number, table, time } from "./ui.js";

export async function schemasView({ container }, subject) {
  container.append(h("h1", {}, subject === undefined ? "Schemas" : subject));
  if (!session.registry) {
    container.append(empty("No schema registry is configured: start the console with --registry-url."));
    return;
  }
  if (subject === undefined) {
    const { subjects, compatibility } = await get("/schemas");
    container.append(
      h("p", { class: "muted" }, `Global compatibility: ${compatibility ?? "unknown"}`),
      subjects.length === 0
        ? empty("No subjects yet: producers register schemas when they first send with the registry's serializers.")
        : table(
            [
              {
                title: "Subject",
                value: (row) => row.subject,
                render: (row) => link(`/console/schemas/${encodeURIComponent(row.subject)}`, row.subject),
              },
              { title: "Latest version", value: (row) => row.version ?? -1, numeric: true },
              { title: "Id", value: (row) => row.id ?? -1, numeric: true },
              { title: "Type", value: (row) => row.schemaType ?? "" },
            ],
            subjects,
            { id: "subjects" },
          ),
    );
    return;
  }
  const detail = await get(`/schemas/${encodeURIComponent(subject)}`);
  const versions = detail.versions;
  const latest = versions.at(-1);
  const pretty = (text) => {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  };
  const pick = (id, selectedIndex) =>
    h(
      "select",
      { id },
      versions.map((version, index) =>
        h(
          "option",
          { value: index, selected: index === selectedIndex },
          `version ${version.version} (id ${version.id})`,
        ),
      ),
    );
  const left = pick("diff-from", Math.max(0, versions.length - 2));
  const right = pick("diff-to", versions.length - 1);
  const diffBox = h("pre", { class: "value-block diff", id: "schema-diff" });
  const showDiff = () => {
    const before = pretty(versions[Number(left.value)].schema).split("\n");
    const after = pretty(versions[Number(right.value)].schema).split("\n");
    diffBox.replaceChildren(
      ...lineDiff(before, after).map(([kind, line]) =>
        h("span", { class: `diff-${kind}` }, `${kind === "add" ? "+ " : kind === "del" ? "- " : "  "}${line}\n`),
      ),
    );
  };
  left.addEventListener("change", showDiff);
  right.addEventListener("change", showDiff);
  showDiff();
  const level = h(
    "select",
    { id: "compatibility-level" },
    COMPATIBILITY.map((name) => h("option", { value: name, selected: name === detail.compatibility }, name)),
  );
  const setLevel = h("button", { id: "compatibility-set" }, "Set");
  setLevel.addEventListener("click", async () => {
    try {
      await put(`/schemas/${encodeURIComponent(subject)}/config`, { compatibility: level.value });
      notice(`Compatibility of ${subject} is ${level.value}`);
    } catch (error) {
      notice(error.message, "error");
    }
  });
  const candidate = h("textarea", { id: "schema-candidate", rows: 8, placeholder: "a new schema to test" });
  candidate.value = latest ? pretty(latest.schema) : "";
  const verdict = h("div", { id: "compatibility-verdict" });
  const test = h("button", { id: "compatibility-test" }, "Test compatibility");
  test.addEventListener("click", async () => {
    try {
      const answer = await post(`/schemas/${encodeURIComponent(subject)}/compatibility`, {
        schema: candidate.value,
        schemaType: latest?.schemaType ?? "AVRO",
      });
      verdict.replaceChildren(
        h(
          "p",
          { class: answer.compatible ? "outcome-ok" : "outcome-failed" },
          answer.compatible ? "Compatible with the latest version" : "Not compatible",
        ),
        ...answer.messages.map((message) => h("p", { class: "muted" }, message)),
      );
    } catch (error) {
      verdict.replaceChildren(errorBox(error));
    }
  });
  container.append(
    h("p", { class: "crumbs" }, link("/console/schemas", "Schemas"), " / ", subject),
    h(
      "p",
      { class: "muted" },
      `${versions.length} version(s) · compatibility ${detail.compatibility} (${detail.compatibilitySource})`,
    ),
    h("h2", {}, "Latest schema"),
    h("pre", { class: "value-block", id: "schema-latest" }, latest ? pretty(latest.schema) : ""),
    h("h2", {}, "Diff"),
    h("div", { class: "inline-form" }, left, " → ", right),
    diffBox,
    h("h2", {}, "Compatibility"),
    canChange() ? h("div", { class: "inline-form" }, level, setLevel) : null,
    candidate,
    test,
    verdict,
  );
}

const COMPATIBILITY = [
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
  "NONE",
];

/** A line diff by longest common subsequence: [kind, line] with kind "same", "add" or "del". */
export function lineDiff(before, after) {
  const rows = before.length;
  const columns = after.length;
  const lengths = Array.from({ length: rows + 1 }, () => new Array(columns + 1).fill(0));
  for (let i = rows - 1; i >= 0; i--) {
    for (let j = columns - 1; j >= 0; j--) {
      lengths[i][j] =
        before[i] === after[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }
  const result = [];
  let i = 0;
  let j = 0;
  while (i < rows && j < columns) {
    if (before[i] === after[j]) {
      result.push(["same", before[i]]);
      i++;
      j++;
    } else if (lengths[i + 1][j] >= lengths[i][j + 1]) result.push(["del", before[i++]]);
    else result.push(["add", after[j++]]);
  }
  while (i < rows) result.push(["del", before[i++]]);
  while (j < columns) result.push(["add", after[j++]]);
  return result;
}

export async function deadLettersView({ container }, topic) {
  if (topic === undefined) {
    const { topics } = await get("/dead-letters");
    container.append(
      h("h1", {}, "Dead letters"),
      topics.length === 0
        ? empty("No dead-letter topics: the toolkit's consumers create <topic>.dlt when they start.")
        : table(
            [
              {
                title: "Topic",
                value: (row) => row.topic,
                render: (row) => link(`/console/dead-letters/${encodeURIComponent(row.topic)}`, row.topic),
              },
              { title: "Dead-letter topic", value: (row) => row.deadLetterTopic },
              {
                title: "Dead letters",
                value: (row) => row.messages ?? -1,
                render: (row) => number(row.messages),
                numeric: true,
              },
            ],
            topics,
            { id: "dead-letter-topics" },
          ),
    );
    return;
  }
  let listed;
  try {
    listed = await get(`/dead-letters/${encodeURIComponent(topic)}`);
  } catch (error) {
    container.append(errorBox(error), link("/console/dead-letters", "← Dead letters"));
    return;
  }
  const selected = new Set();
  const result = h("div", { id: "redrive-result" });
  const redrive = async (body) => {
    try {
      const report = await post(`/dead-letters/${encodeURIComponent(topic)}/redrive`, body);
      result.replaceChildren(
        h(
          "p",
          { class: report.dryRun ? "muted" : "" },
          report.dryRun
            ? `Dry run: ${report.redriven.length} dead letter(s) would go back to ${topic}`
            : `Sent ${report.redriven.length} dead letter(s) back to ${topic}`,
          report.skipped.length > 0 ? `; ${report.skipped.length} skipped (their value was dropped)` : "",
        ),
      );
      if (!report.dryRun) notice(`Redrove ${report.redriven.length} dead letter(s)`);
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  };
  const since = h("input", { type: "datetime-local", step: 1, id: "redrive-since" });
  const until = h("input", { type: "datetime-local", step: 1, id: "redrive-until" });
  const range = () => ({
    ...(since.value ? { since: new Date(since.value).toISOString() } : {}),
    ...(until.value ? { until: new Date(until.value).toISOString() } : {}),
  });
  const controls = canChange()
    ? h(
        "div",
        { class: "card" },
        h("h2", {}, "Redrive to ", topic),
        h(
          "div",
          { class: "inline-form" },
          h(
            "button",
            { id: "redrive-selected-dry", onclick: () => redrive({ eventIds: [...selected], dryRun: true }) },
            "Dry run: selected",
          ),
          h(
            "button",
            { class: "primary", id: "redrive-selected", onclick: () => redrive({ eventIds: [...selected] }) },
            "Redrive selected",
          ),
        ),
        h(
          "div",
          { class: "inline-form" },
          "From ",
          since,
          " to ",
          until,
          h(
            "button",
            { id: "redrive-range-dry", onclick: () => redrive({ ...range(), dryRun: true }) },
            "Dry run: range",
          ),
          h("button", { class: "primary", id: "redrive-range", onclick: () => redrive(range()) }, "Redrive range"),
        ),
        result,
      )
    : null;
  container.append(
    h("p", { class: "crumbs" }, link("/console/dead-letters", "Dead letters"), " / ", topic),
    h("h1", {}, `${topic}: dead letters`),
    listed.deadLetters.length === 0
      ? empty("No dead letters: every event of this topic was processed.")
      : table(
          [
            {
              title: "",
              value: () => "",
              render: (letter) => {
                const box = h("input", { type: "checkbox", "aria-label": `select ${letter.eventId}` });
                box.addEventListener("change", () =>
                  box.checked ? selected.add(letter.eventId) : selected.delete(letter.eventId),
                );
                return box;
              },
            },
            { title: "Time (UTC)", value: (letter) => letter.time, render: (letter) => time(Date.parse(letter.time)) },
            { title: "Group", value: (letter) => letter.consumerGroup },
            {
              title: "Error",
              value: (letter) => letter.error,
              render: (letter) => h("span", { title: letter.errorCode }, letter.error),
            },
            { title: "Attempts", value: (letter) => letter.attempts, numeric: true },
            {
              title: "Origin",
              value: (letter) => `${letter.originalPartition}@${letter.originalOffset}`,
              render: (letter) =>
                link(
                  `/console/topics/${encodeURIComponent(letter.originalTopic)}/messages?partition=${letter.originalPartition}&offset=${letter.originalOffset}`,
                  `${letter.originalTopic} ${letter.originalPartition}@${letter.originalOffset}`,
                ),
            },
            {
              title: "Event",
              value: (letter) => letter.eventId,
              render: (letter) =>
                link(`/console/outbox?event=${encodeURIComponent(letter.eventId)}`, letter.eventId.slice(0, 8)),
            },
          ],
          listed.deadLetters,
          { id: "dead-letters" },
        ),
    controls,
  );
}
