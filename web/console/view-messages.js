/* global TextDecoder, URLSearchParams, atob, document, history, location */
// Messages of one topic: newest first, or forward from an offset or a time, one partition or all (the choice is in
// the URL); values decoded automatically and switchable to JSON, text or hex; a server-side filter that scans in
// slices with a progress bar and a stop button; a live tail that shows new messages as they arrive, pausable, keeping
// the newest TAIL_BUFFER_MESSAGES; producing a message, or producing an existing one again.

import { canChange } from "./app.js";
import { get, post, streamEvents } from "./api.js";
import { copyable, empty, errorBox, h, link, loadOrShowMissing, notice, number, time } from "./ui.js";

const ENCODINGS = ["auto", "json", "text", "hex"];
/** Tailed messages the page keeps; older ones are dropped, so a long tail does not grow the page without bound. */
export const TAIL_BUFFER_MESSAGES = 500;
/** How long the page waits before opening a tail again after the stream broke. */
const TAIL_RECONNECT_MS = 2_000;

function bytesOf(payload) {
  if (payload.base64 === null) return null;
  return Uint8Array.from(atob(payload.base64), (char) => char.charCodeAt(0));
}

/** The payload shown in an encoding the user chose; falls back to hex for bytes that are not text. */
export function render(payload, encoding) {
  if (payload.encoding === "null") return "null";
  if (encoding === "auto") encoding = payload.encoding === "json" ? "json" : payload.encoding;
  if (encoding === "avro" || encoding === "json-schema") return prettyJson(payload.text);
  const bytes = bytesOf(payload);
  if (encoding === "hex") return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join(" ");
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return `(not UTF-8 text) ${[...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join(" ")}`;
  }
  return encoding === "json" ? prettyJson(text) : text;
}

function prettyJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function preview(payload) {
  if (payload.encoding === "null") return h("span", { class: "muted" }, "null");
  const text = payload.encoding === "hex" ? payload.text : payload.text.replace(/\s+/g, " ");
  return h("span", { class: `payload enc-${payload.encoding}` }, text.length > 160 ? `${text.slice(0, 160)}…` : text);
}

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

/**
 * The live tail's buttons and state: Live starts a stream from the end of the chosen partitions, Pause closes it and
 * remembers where each partition was, Resume opens it again from there (nothing is missed), Stop forgets it all.
 */
function liveTail(topic, partitionSelect, show, status) {
  const startButton = h(
    "button",
    { type: "button", id: "live-start", title: "Show new messages as they arrive" },
    "Live",
  );
  const pauseButton = h("button", { type: "button", id: "live-pause", hidden: true }, "Pause");
  const stopButton = h("button", { type: "button", id: "live-stop", hidden: true }, "Stop");
  const state = h("span", { class: "muted", id: "live-state" });
  const bar = h("div", { class: "toolbar live", id: "live" }, startButton, pauseButton, stopButton, state);
  let messages = [];
  let positions = null;
  let skipped = 0;
  let controller = null;
  let paused = false;

  const caption = () =>
    `Live${paused ? " (paused)" : ""}: ${messages.length} message(s), newest first, keeping the newest ${TAIL_BUFFER_MESSAGES}` +
    (skipped > 0 ? `; ${number(skipped)} skipped while arriving faster than shown` : "");
  const setUrl = (live) => {
    const query = new URLSearchParams(location.search);
    if (live) query.set("live", "true");
    else query.delete("live");
    history.replaceState(null, "", `${location.pathname}${query.size > 0 ? `?${query}` : ""}`);
  };
  const connect = () => {
    controller = new AbortController();
    const mine = controller;
    const query = new URLSearchParams();
    if (partitionSelect.value !== "") query.set("partition", partitionSelect.value);
    if (positions !== null) {
      query.set(
        "positions",
        Object.entries(positions)
          .map(([partition, offset]) => `${partition}:${offset}`)
          .join(","),
      );
    }
    state.textContent = "connecting…";
    streamEvents(
      `/topics/${encodeURIComponent(topic)}/tail${query.size > 0 ? `?${query}` : ""}`,
      (name, data) => {
        if (name === "start") {
          positions = data.positions;
          state.textContent = "following";
          bar.dataset.state = "following";
        } else if (name === "messages") {
          positions = data.positions;
          skipped += data.skipped;
          messages = [...[...data.messages].reverse(), ...messages].slice(0, TAIL_BUFFER_MESSAGES);
          show(messages, caption());
        } else if (name === "error") {
          state.textContent = `stopped: ${data.message}`;
        }
      },
      { signal: mine.signal },
    ).then(
      () => {
        // The server ended the stream (it stopped, or the tail failed): try again while still live.
        if (controller === mine) setTimeout(() => controller === mine && connect(), TAIL_RECONNECT_MS);
      },
      (error) => {
        if (mine.signal.aborted) return;
        state.textContent = `stopped: ${error.message}`;
        if (error.status === undefined || error.status >= 500) {
          setTimeout(() => controller === mine && connect(), TAIL_RECONNECT_MS);
        }
      },
    );
  };
  const disconnect = () => {
    const current = controller;
    controller = null;
    current?.abort();
  };
  const start = () => {
    messages = [];
    positions = null;
    skipped = 0;
    paused = false;
    startButton.hidden = true;
    pauseButton.hidden = false;
    pauseButton.textContent = "Pause";
    stopButton.hidden = false;
    partitionSelect.disabled = true;
    setUrl(true);
    show(messages, caption(), "Waiting for new messages: they appear here as they are produced.");
    connect();
  };
  const stop = () => {
    disconnect();
    startButton.hidden = false;
    pauseButton.hidden = true;
    stopButton.hidden = true;
    partitionSelect.disabled = false;
    state.textContent = "";
    delete bar.dataset.state;
  };
  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", () => {
    stop();
    setUrl(false);
  });
  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.textContent = paused ? "Resume" : "Pause";
    if (paused) {
      disconnect();
      state.textContent = "paused";
      bar.dataset.state = "paused";
    } else {
      connect();
    }
    status.textContent = caption();
  });
  return { bar, start, stop };
}

function messageTable(messages, produceBox) {
  const rows = messages.map((message) => {
    const row = h(
      "tr",
      { class: "message", tabindex: 0, dataset: { partition: message.partition, offset: message.offset } },
      h("td", { class: "num" }, message.partition),
      h("td", { class: "num" }, number(message.offset)),
      h("td", { class: "nowrap" }, time(message.timestamp)),
      h("td", {}, preview(message.key)),
      h("td", {}, preview(message.value)),
      h("td", { class: "muted" }, message.headers.length === 0 ? "" : `${message.headers.length} header(s)`),
    );
    let detail = null;
    const toggle = () => {
      if (detail !== null) {
        detail.remove();
        detail = null;
        return;
      }
      detail = h("tr", { class: "detail" }, h("td", { colspan: 6 }, messageDetail(message, produceBox)));
      row.after(detail);
    };
    row.addEventListener("click", toggle);
    row.addEventListener("keydown", (event) => event.key === "Enter" && toggle());
    return row;
  });
  return h(
    "table",
    { class: "grid messages" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Partition", "Offset", "Time (UTC)", "Key", "Value", "Headers"].map((title) => h("th", {}, title)),
      ),
    ),
    h("tbody", {}, rows),
  );
}

function messageDetail(message, produceBox) {
  const valueBlock = h("pre", { class: "value-block" });
  let encoding = "auto";
  const buttons = ENCODINGS.map((name) => {
    const button = h(
      "button",
      { class: name === encoding ? "chip active" : "chip", dataset: { encoding: name } },
      name,
    );
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      encoding = name;
      for (const other of buttons) other.classList.toggle("active", other === button);
      valueBlock.textContent = render(message.value, encoding);
    });
    return button;
  });
  valueBlock.textContent = render(message.value, encoding);
  const info = [
    `${message.value.bytes} bytes`,
    message.value.truncated ? "shown cut" : null,
    message.value.schemaId !== undefined ? `schema id ${message.value.schemaId}` : null,
    `decoded as ${message.value.encoding}`,
  ].filter(Boolean);
  const reproduce = produceBox ? h("button", { class: "reproduce" }, "Produce again…") : null;
  reproduce?.addEventListener("click", (event) => {
    event.stopPropagation();
    produceBox.fill(message);
  });
  return h(
    "div",
    { class: "message-detail" },
    h(
      "div",
      { class: "detail-row" },
      h("strong", {}, "Key "),
      message.key.encoding === "null" ? "null" : copyable(render(message.key, "auto")),
    ),
    h(
      "div",
      { class: "detail-row" },
      h("strong", {}, "Value "),
      h("span", { class: "muted" }, info.join(" · ")),
      " ",
      buttons,
      " ",
      copyable(render(message.value, "auto"), "icon-only"),
    ),
    valueBlock,
    message.headers.length === 0
      ? null
      : h(
          "table",
          { class: "grid compact" },
          h(
            "tbody",
            {},
            message.headers.map((header) => h("tr", {}, h("td", {}, header.key), h("td", {}, header.value ?? "null"))),
          ),
        ),
    reproduce,
  );
}

function searchForm(topic, partitionSelect, show, status) {
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

function produceForm(topic, partitions, reload) {
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
