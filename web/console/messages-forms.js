/* global document */
// The messages page's forms: the server-side filter, which scans in slices with a progress bar and a stop button,
// and producing a message, or producing an existing one again.

import { post } from "./api.js";
import { render } from "./messages-display.js";
import { h, notice, number } from "./ui.js";

export function searchForm(topic, partitionSelect, show, status) {
  const fields = {
    key: h("input", { name: "key", placeholder: "key contains", class: "medium" }),
    value: h("input", { name: "value", placeholder: "value contains", class: "medium", id: "filter-value" }),
    header: h("input", { name: "header", placeholder: "header or name=value", class: "medium" }),
    jsonPath: h("input", { name: "jsonPath", placeholder: "JSON path, e.g. order.id", class: "medium" }),
    jsonEquals: h("input", { name: "jsonEquals", placeholder: "equals", class: "narrow" }),
  };
  const scanMax = h("input", {
    name: "scanMax",
    type: "number",
    min: 1,
    value: 1_000_000,
    class: "medium",
    title: "Scan at most this many messages",
  });
  const progress = h("progress", { id: "search-progress", max: 1, value: 0, hidden: true });
  const stop = h("button", { type: "button", id: "search-stop", hidden: true }, "Stop");
  const start = h("button", { type: "submit", id: "search-start" }, "Filter");
  let stopped = false;
  stop.addEventListener("click", () => {
    stopped = true;
  });
  const form = h(
    "form",
    { class: "toolbar filter", id: "search" },
    fields.key,
    fields.value,
    fields.header,
    fields.jsonPath,
    fields.jsonEquals,
    h("label", { class: "check" }, "scan at most ", scanMax),
    start,
    stop,
    progress,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const filter = {};
    for (const [name, input] of Object.entries(fields)) if (input.value !== "") filter[name] = input.value;
    const body = { filter, limit: 200, scanMax: Number(scanMax.value) };
    if (partitionSelect.value !== "") body.partition = Number(partitionSelect.value);
    stopped = false;
    stop.hidden = false;
    start.disabled = true;
    progress.hidden = false;
    const matches = [];
    let slice = null;
    try {
      do {
        slice = await post(
          `/topics/${encodeURIComponent(topic)}/search`,
          slice === null ? body : { ...body, cursor: slice.cursor },
        );
        matches.push(...slice.matches);
        progress.max = Math.max(1, Math.min(slice.total, slice.scanMax));
        progress.value = slice.scanned;
        status.textContent = `Scanning: ${number(slice.scanned)} of ${number(slice.total)} messages, ${matches.length} match(es)`;
      } while (slice.cursor !== null && !stopped && matches.length < 200);
      const why = stopped
        ? "stopped"
        : slice.stoppedBy === "scanMax"
          ? `reached the scan limit of ${number(slice.scanMax)}; raise it to scan further`
          : slice.stoppedBy === "end"
            ? "scanned to the end"
            : "showing the first 200 matches";
      show(matches, `${matches.length} match(es) in ${number(slice.scanned)} scanned messages (${why})`);
      document.getElementById("messages-status").dataset.done = "true";
    } catch (error) {
      notice(error.message, "error");
    } finally {
      stop.hidden = true;
      start.disabled = false;
    }
  });
  return form;
}

export function produceForm(topic, partitions, reload) {
  const key = h("input", { name: "key", placeholder: "key (optional)", id: "produce-key" });
  const value = h("textarea", { name: "value", placeholder: "value", rows: 4, id: "produce-value" });
  const headers = h("textarea", {
    name: "headers",
    placeholder: "headers, one per line: name: value",
    rows: 2,
    id: "produce-headers",
  });
  const partition = h(
    "select",
    { name: "partition", id: "produce-partition" },
    h("option", { value: "" }, "Partition by key"),
    partitions.map((row) => h("option", { value: row.partition }, `Partition ${row.partition}`)),
  );
  const error = h("p", { class: "form-error" });
  const form = h(
    "form",
    { class: "card produce", id: "produce" },
    h("h2", {}, "Produce a message"),
    h("div", { class: "inline-form" }, key, partition),
    value,
    headers,
    h("button", { type: "submit", class: "primary" }, "Produce"),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const parsedHeaders = headers.value
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => {
        const at = line.indexOf(":");
        return at < 0
          ? { key: line.trim(), value: "" }
          : { key: line.slice(0, at).trim(), value: line.slice(at + 1).trim() };
      });
    try {
      const produced = await post(`/topics/${encodeURIComponent(topic)}/messages`, {
        key: key.value === "" ? null : key.value,
        value: value.value,
        headers: parsedHeaders,
        ...(partition.value === "" ? {} : { partition: Number(partition.value) }),
      });
      notice(`Produced to partition ${produced.partition} at offset ${produced.offset}`);
      reload();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  form.fill = (message) => {
    key.value = message.key.encoding === "null" ? "" : render(message.key, "text");
    value.value =
      message.value.encoding === "null" ? "" : render(message.value, message.value.encoding === "hex" ? "hex" : "text");
    headers.value = message.headers.map((header) => `${header.key}: ${header.value ?? ""}`).join("\n");
    partition.value = String(message.partition);
    form.scrollIntoView({ behavior: "smooth" });
    value.focus();
  };
  return form;
}
