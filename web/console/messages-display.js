/* global TextDecoder, atob */
// How the messages page shows messages: a table of them with their key and value in brief, and under a clicked row
// the whole message, its value switchable between the encodings (decoded automatically, JSON, text, hex).

import { copyable, h, number, time } from "./ui.js";

const ENCODINGS = ["auto", "json", "text", "hex"];

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

export function messageTable(messages, produceBox) {
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
