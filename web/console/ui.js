/* global Node, document, getComputedStyle, navigator */
// Small helpers every view uses: building elements (text is always set as text, never parsed as HTML), sortable
// tables, copyable values, notices, and charts drawn by uPlot.

import uPlot from "/console/vendor/uPlot.esm.js";

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export const link = (href, text, attributes = {}) => h("a", { href, "data-link": true, ...attributes }, text);

export function number(value) {
  return value === null || value === undefined ? "–" : Number(value).toLocaleString("en-US");
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** Bytes in the largest unit that keeps the number at least 1: "1.5 MiB". */
export function bytes(value) {
  if (value === null || value === undefined) return "–";
  let amount = Number(value);
  let unit = 0;
  while (amount >= 1024 && unit < BYTE_UNITS.length - 1) {
    amount /= 1024;
    unit++;
  }
  return `${unit === 0 ? amount : amount.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

export function time(ms) {
  return ms === null || ms === undefined || ms < 0
    ? "–"
    : new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  const value = Number(ms);
  if (value < 0) return "forever";
  const units = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["min", 60_000],
    ["s", 1000],
  ];
  for (const [unit, size] of units) if (value >= size && value % size === 0) return `${value / size} ${unit}`;
  return `${value} ms`;
}

/** A value with a button that copies it. */
export function copyable(text, className = "") {
  const button = h("button", { class: "copy", title: "Copy", "aria-label": "Copy" }, "copy");
  button.addEventListener("click", async (event) => {
    event.stopPropagation();
    await navigator.clipboard?.writeText(text).catch(() => undefined);
    notice("Copied");
  });
  return h("span", { class: `copyable ${className}` }, h("span", { class: "value" }, text), button);
}

let noticeTimer = null;
export function notice(message, kind = "info") {
  const toast = document.getElementById("toast");
  toast.textContent = message;
  toast.dataset.kind = kind;
  toast.classList.add("shown");
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => toast.classList.remove("shown"), 4000);
}

export function errorBox(error, advice) {
  return h(
    "div",
    { class: "error-box", role: "alert" },
    h("strong", {}, error.code ?? "Error"),
    " ",
    error.message,
    advice ? h("p", {}, advice) : null,
  );
}

/**
 * Loads what a view is about; when it does not exist (a 404), shows the error, the advice and a way back, and
 * resolves to null so the view can stop. Other errors go on to the view's own error handling.
 */
export async function loadOrShowMissing(container, load, advice, [backHref, backText]) {
  try {
    return await load();
  } catch (error) {
    if (error.status !== 404) throw error;
    container.append(errorBox(error, advice), link(backHref, backText));
    return null;
  }
}

export function empty(message) {
  return h("div", { class: "empty" }, message);
}

/**
 * A table whose columns sort when their header is clicked. columns: [{ title, value(row), render?(row), numeric? }].
 */
export function table(columns, rows, { id, rowAttributes } = {}) {
  let sortIndex = -1;
  let ascending = true;
  const body = h("tbody");
  const fill = () => {
    const sorted = [...rows];
    if (sortIndex >= 0) {
      const column = columns[sortIndex];
      sorted.sort((left, right) => {
        const a = column.value(left);
        const b = column.value(right);
        const order = typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b));
        return ascending ? order : -order;
      });
    }
    body.replaceChildren(
      ...sorted.map((row) =>
        h(
          "tr",
          rowAttributes?.(row) ?? {},
          columns.map((column) =>
            h(
              "td",
              { class: column.numeric ? "num" : undefined },
              column.render ? column.render(row) : column.value(row),
            ),
          ),
        ),
      ),
    );
  };
  const head = h(
    "tr",
    {},
    columns.map((column, index) => {
      const th = h("th", { class: column.numeric ? "num" : undefined, tabindex: 0 }, column.title);
      const sort = () => {
        ascending = sortIndex === index ? !ascending : true;
        sortIndex = index;
        for (const other of head.children) other.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        fill();
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", (event) => event.key === "Enter" && sort());
      return th;
    }),
  );
  fill();
  return h("table", { class: "grid", id }, h("thead", {}, head), body);
}

/** A line chart of series over time; data: [times in seconds, ...series]. */
export function chart(container, title, seriesNames, data, { height = 180 } = {}) {
  const styles = getComputedStyle(document.documentElement);
  const colours = ["--chart-1", "--chart-2", "--chart-3"].map((name) => styles.getPropertyValue(name).trim());
  const axisColour = styles.getPropertyValue("--muted").trim();
  const grid = { stroke: styles.getPropertyValue("--line").trim(), width: 1 };
  const options = {
    title,
    width: Math.max(container.clientWidth - 4, 280),
    height,
    series: [{}, ...seriesNames.map((label, index) => ({ label, stroke: colours[index], width: 2 }))],
    axes: [
      { stroke: axisColour, grid },
      { stroke: axisColour, grid, size: 60 },
    ],
    legend: { live: true },
  };
  return new uPlot(options, data, container);
}
