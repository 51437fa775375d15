/* global URLSearchParams, location */
// Messages of one topic: newest first, or forward from an offset or a time, one partition or all (the choice is in
// the URL); values decoded automatically and switchable to JSON, text or hex; a server-side filter that scans in
// slices with a progress bar and a stop button; a live tail that shows new messages as they arrive, pausable, keeping
// the newest TAIL_BUFFER_MESSAGES; producing a message, or producing an existing one again. This file is the page;
// how messages are shown, the tail and the forms are in messages-display.js, messages-tail.js and messages-forms.js.

import { canChange } from "./app.js";
import { get } from "./api.js";
import { messageTable } from "./messages-display.js";
import { produceForm, searchForm } from "./messages-forms.js";
import { liveTail } from "./messages-tail.js";
import { empty, errorBox, h, link, loadOrShowMissing } from "./ui.js";

export async function messagesView({ container, params, navigate }, topic) {
  const described = await loadOrShowMissing(
    container,
    () => get(`/topics/${encodeURIComponent(topic)}`),
    "See all topics.",
    ["/console/topics", "← Topics"],
  );
  if (described === null) return;
  const base = `/console/topics/${encodeURIComponent(topic)}/messages`;
  const partition = params.get("partition") ?? "";
  const offset = params.get("offset") ?? "";
  const timestamp = params.get("timestamp") ?? "";
  const mode = offset !== "" ? "offset" : timestamp !== "" ? "timestamp" : "newest";

  const partitionSelect = h(
    "select",
    { id: "partition", name: "partition" },
    h("option", { value: "" }, "All partitions"),
    described.partitions.map((row) =>
      h(
        "option",
        { value: row.partition, selected: String(row.partition) === partition },
        `Partition ${row.partition}`,
      ),
    ),
  );
  const modeSelect = h(
    "select",
    { id: "mode", name: "mode" },
    h("option", { value: "newest", selected: mode === "newest" }, "Newest first"),
    h("option", { value: "offset", selected: mode === "offset" }, "From offset"),
    h("option", { value: "timestamp", selected: mode === "timestamp" }, "From time"),
  );
  const offsetInput = h("input", {
    id: "offset",
    name: "offset",
    type: "number",
    min: 0,
    value: offset,
    placeholder: "offset",
    class: "medium",
  });
  const timeInput = h("input", {
    id: "timestamp",
    name: "timestamp",
    type: "datetime-local",
    step: 1,
    value:
      timestamp === ""
        ? ""
        : new Date(Number(timestamp) - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 19),
  });
  const syncMode = () => {
    offsetInput.hidden = modeSelect.value !== "offset";
    timeInput.hidden = modeSelect.value !== "timestamp";
  };
  modeSelect.addEventListener("change", syncMode);
  syncMode();
  const browseForm = h(
    "form",
    { class: "toolbar", id: "browse" },
    partitionSelect,
    modeSelect,
    offsetInput,
    timeInput,
    h("button", { type: "submit", class: "primary" }, "Show"),
  );
  browseForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (partitionSelect.value !== "") query.set("partition", partitionSelect.value);
    if (modeSelect.value === "offset" && offsetInput.value !== "") query.set("offset", offsetInput.value);
    if (modeSelect.value === "timestamp" && timeInput.value !== "")
      query.set("timestamp", String(new Date(timeInput.value).getTime()));
    navigate(`${base}${query.size > 0 ? `?${query}` : ""}`);
  });

  const results = h("div", { id: "messages" });
  const status = h("p", { class: "muted", id: "messages-status" });
  const produceBox = canChange()
    ? produceForm(topic, described.partitions, () => navigate(location.pathname + location.search, { replace: true }))
    : null;

  const show = (
    messages,
    caption,
    emptyText = "No messages here. Produce one below, or pick another partition or start.",
  ) => {
    status.textContent = caption;
    results.replaceChildren(messages.length === 0 ? empty(emptyText) : messageTable(messages, produceBox));
  };

  const query = new URLSearchParams({ limit: "50" });
  if (partition !== "") query.set("partition", partition);
  if (offset !== "") query.set("offset", offset);
  if (timestamp !== "") query.set("timestamp", timestamp);
  let browseError = null;
  try {
    const browsed = await get(`/topics/${encodeURIComponent(topic)}/messages?${query}`);
    show(
      browsed.messages,
      browsed.order === "newest"
        ? `The newest ${browsed.messages.length} messages`
        : `${browsed.messages.length} messages from the chosen start`,
    );
  } catch (error) {
    browseError = errorBox(error, "Pick an offset inside the partition's range (see the partitions table).");
  }

  const tail = liveTail(topic, partitionSelect, show, status);

  container.append(
    h(
      "p",
      { class: "crumbs" },
      link("/console/topics", "Topics"),
      " / ",
      link(`/console/topics/${encodeURIComponent(topic)}`, topic),
      " / messages",
    ),
    h("h1", {}, `${topic}: messages`),
    browseForm,
    tail.bar,
    searchForm(topic, partitionSelect, show, status),
    browseError,
    status,
    results,
    produceBox,
  );
  if (params.get("live") === "true") tail.start();
  return () => tail.stop();
}
