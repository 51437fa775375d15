/* global FormData, location */
// The outbox and inbox view (the toolkit's tables): an event's path, each outbox's pending rows, its relay and the
// rows it parked, with a Requeue for those once their cause is fixed, and each inbox's consumer groups.

import { canChange, session } from "./app.js";
import { get, post } from "./api.js";
import { empty, errorBox, h, link, notice, table } from "./ui.js";

export async function outboxView({ container, params, navigate }) {
  container.append(h("h1", {}, "Outbox and inbox"));
  if (!session.database) {
    container.append(empty("No database is configured: start the console with --database-url."));
    return;
  }
  const form = h(
    "form",
    { class: "inline-form", id: "event-path-form" },
    h("input", {
      name: "event",
      placeholder: "event id",
      value: params.get("event") ?? "",
      class: "medium",
      id: "event-id",
    }),
    h("button", { type: "submit" }, "Show its path"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(`/console/outbox?event=${encodeURIComponent(new FormData(form).get("event"))}`);
  });
  container.append(form);
  const eventId = params.get("event");
  if (eventId) {
    const path = await get(`/events/${encodeURIComponent(eventId)}`);
    container.append(
      h("h2", {}, "Path of ", eventId),
      path.steps.length === 0
        ? empty("No outbox row and no inbox record has this event id (outbox rows are cleaned up after publishing).")
        : h(
            "ol",
            { class: "event-path", id: "event-path" },
            path.steps.map((step) =>
              step.step === "outbox"
                ? h(
                    "li",
                    {},
                    `Outbox (${step.schema}): created ${step.createdAt}, ${step.published ? "published" : "not yet published"} to ${step.topic}`,
                  )
                : step.step === "topic"
                  ? h(
                      "li",
                      {},
                      "Topic: ",
                      link(
                        `/console/topics/${encodeURIComponent(step.topic)}/messages?partition=${step.partition}&offset=${step.offset}`,
                        `${step.topic} ${step.partition}@${step.offset}`,
                      ),
                      `, appended ${step.timestamp}`,
                    )
                  : h(
                      "li",
                      {},
                      `Inbox of ${step.group} (${step.schema}): `,
                      link(
                        `/console/topics/${encodeURIComponent(step.topic)}/messages?partition=${step.partition}&offset=${step.offset}`,
                        `${step.topic} ${step.partition}@${step.offset}`,
                      ),
                      `, processed ${step.processedAt}`,
                    ),
            ),
          ),
    );
  }
  const summary = await get("/outbox");
  for (const outbox of summary.outboxes) {
    container.append(
      h("h2", {}, `Outbox: ${outbox.schema}`),
      outbox.pending.length === 0
        ? empty("Nothing waiting: every event has been published.")
        : table(
            [
              { title: "Topic", value: (row) => row.topic },
              { title: "Pending", value: (row) => row.pending, numeric: true },
              { title: "Oldest age (s)", value: (row) => Math.round(row.oldestAgeMs / 1000), numeric: true },
            ],
            outbox.pending,
          ),
      outbox.relays.length === 0
        ? null
        : table(
            [
              { title: "Relay", value: (row) => row.relay },
              { title: "Rows in flight", value: (row) => row.claimedRows, numeric: true },
              { title: "Lease expires", value: (row) => row.leaseExpires },
            ],
            outbox.relays,
          ),
      outbox.parkedCount === 0 ? null : parkedSection(outbox, navigate),
    );
  }
  for (const inbox of summary.inboxes) {
    container.append(
      h("h2", {}, `Inbox: ${inbox.schema}`),
      inbox.groups.length === 0
        ? empty("No events processed yet.")
        : table(
            [
              { title: "Consumer group", value: (row) => row.group },
              { title: "Records", value: (row) => row.records, numeric: true },
              { title: "Latest", value: (row) => row.latest ?? "" },
            ],
            inbox.groups,
          ),
    );
  }
}

/** The rows the relay parked in one outbox; who may change can requeue them, chosen ones or all. */
function parkedSection(outbox, navigate) {
  const selected = new Set();
  const result = h("div", { class: "requeue-result" });
  const requeue = async (body) => {
    try {
      const report = await post(`/outbox/${encodeURIComponent(outbox.schema)}/requeue`, body);
      notice(`Requeued ${report.requeued} parked row(s) of ${outbox.schema}`);
      navigate(location.pathname + location.search, { replace: true });
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  };
  const columns = [
    { title: "Row", value: (row) => row.id, numeric: true },
    {
      title: "Event",
      value: (row) => link(`/console/outbox?event=${encodeURIComponent(row.eventId)}`, row.eventId.slice(0, 8)),
    },
    { title: "Topic", value: (row) => row.topic },
    { title: "Parked at", value: (row) => row.parkedAt ?? "" },
    { title: "Attempts", value: (row) => row.failedAttempts, numeric: true },
    { title: "Last error", value: (row) => row.lastError ?? "" },
  ];
  if (canChange()) {
    columns.unshift({
      title: "",
      value: () => "",
      render: (row) => {
        const box = h("input", { type: "checkbox", "aria-label": `select row ${row.id}` });
        box.addEventListener("change", () => (box.checked ? selected.add(row.id) : selected.delete(row.id)));
        return box;
      },
    });
  }
  return h(
    "section",
    { class: "parked", "data-schema": outbox.schema },
    h("h3", {}, `Parked rows: ${outbox.parkedCount} (the broker refused them for good)`),
    h(
      "p",
      { class: "muted" },
      "Fix the cause first (the last error says what the broker refused), then requeue: each row goes back after " +
        "the cursor with its event id, so consumers that saw it skip it.",
    ),
    table(columns, outbox.parked),
    canChange()
      ? h(
          "div",
          { class: "inline-form" },
          h(
            "button",
            {
              class: "requeue-selected",
              onclick: () =>
                selected.size === 0
                  ? result.replaceChildren(errorBox(new Error("Select the rows to requeue first.")))
                  : requeue({ ids: [...selected] }),
            },
            "Requeue selected",
          ),
          h("button", { class: "primary requeue-all", onclick: () => requeue({ all: true }) }, "Requeue all"),
          result,
        )
      : null,
  );
}
