/* global FormData, history, location */
// Topics: the list (filter by name, internal topics hidden unless asked), creating a topic, and one topic's
// partitions, configs (editable) and deletion, which asks for the topic's name to be typed.

import { canChange } from "./app.js";
import { del, get, patch, post } from "./api.js";
import { bytes, copyable, duration, empty, h, link, loadOrShowMissing, notice, number, table } from "./ui.js";

export async function topicsView({ container, params, navigate }) {
  const showInternal = params.get("internal") === "true";
  const filter = params.get("filter") ?? "";
  const { topics } = await get(`/topics?internal=${showInternal}`);
  const filterInput = h("input", {
    type: "search",
    placeholder: "Filter by name (/)",
    value: filter,
    id: "topic-filter",
    "data-filter": true,
  });
  const internalBox = h("input", { type: "checkbox", id: "show-internal", checked: showInternal });
  const listing = h("div");
  const draw = () => {
    const needle = filterInput.value.toLowerCase();
    const shown = topics.filter((topic) => topic.name.toLowerCase().includes(needle));
    listing.replaceChildren(
      topics.length === 0
        ? empty("No topics yet. Create one above, or produce to a topic the broker creates on first use.")
        : shown.length === 0
          ? empty(`No topic matches "${filterInput.value}".`)
          : table(
              [
                {
                  title: "Topic",
                  value: (topic) => topic.name,
                  render: (topic) => link(`/console/topics/${encodeURIComponent(topic.name)}`, topic.name),
                },
                { title: "Partitions", value: (topic) => topic.partitions, numeric: true },
                {
                  title: "Messages",
                  value: (topic) => topic.messages ?? -1,
                  render: (topic) => number(topic.messages),
                  numeric: true,
                },
                {
                  title: "Size",
                  value: (topic) => topic.sizeBytes ?? -1,
                  render: (topic) => bytes(topic.sizeBytes),
                  numeric: true,
                },
                {
                  title: "Retention",
                  value: (topic) => Number(topic.retentionMs ?? 0),
                  render: (topic) => duration(topic.retentionMs),
                },
                {
                  title: "",
                  value: () => "",
                  render: (topic) => link(`/console/topics/${encodeURIComponent(topic.name)}/messages`, "Messages →"),
                },
              ],
              shown,
              { id: "topics", rowAttributes: (topic) => ({ "data-topic": topic.name }) },
            ),
    );
  };
  filterInput.addEventListener("input", () => {
    const url = new URL(location.href);
    if (filterInput.value === "") url.searchParams.delete("filter");
    else url.searchParams.set("filter", filterInput.value);
    history.replaceState(null, "", url);
    draw();
  });
  internalBox.addEventListener("change", () => {
    navigate(`/console/topics${internalBox.checked ? "?internal=true" : ""}`);
  });
  draw();
  container.append(
    h("div", { class: "title-row" }, h("h1", {}, "Topics"), canChange() ? createForm(navigate) : null),
    h("div", { class: "toolbar" }, filterInput, h("label", { class: "check" }, internalBox, "Show internal topics")),
    listing,
  );
}

function createForm(navigate) {
  const error = h("p", { class: "form-error" });
  const form = h(
    "form",
    { class: "inline-form", id: "create-topic" },
    h("input", { name: "name", placeholder: "new-topic", required: true, pattern: "[A-Za-z0-9._-]{1,249}" }),
    h("input", { name: "partitions", type: "number", min: 1, value: 1, title: "Partitions", class: "narrow" }),
    h("input", {
      name: "configs",
      id: "create-configs",
      placeholder: "configs: retention.ms=3600000, cleanup.policy=compact",
      title: "Topic configs as name=value, separated by commas (optional)",
      class: "wide",
    }),
    h("button", { type: "submit", class: "primary" }, "Create topic"),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const configs = {};
    for (const entry of String(data.get("configs") ?? "").split(",")) {
      if (entry.trim() === "") continue;
      const at = entry.indexOf("=");
      if (at <= 0) {
        error.textContent = `"${entry.trim()}" is not name=value`;
        return;
      }
      configs[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
    }
    try {
      await post("/topics", { name: data.get("name"), partitions: Number(data.get("partitions")), configs });
      notice(`Created ${data.get("name")}`);
      navigate(`/console/topics/${encodeURIComponent(data.get("name"))}`);
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  return form;
}

export async function topicView({ container, navigate }, topic) {
  const described = await loadOrShowMissing(
    container,
    () => get(`/topics/${encodeURIComponent(topic)}`),
    "The topic may have been deleted; see all topics.",
    ["/console/topics", "← Topics"],
  );
  if (described === null) return;
  const base = `/console/topics/${encodeURIComponent(topic)}`;
  container.append(
    h("p", { class: "crumbs" }, link("/console/topics", "Topics"), " / ", copyable(topic)),
    h(
      "div",
      { class: "title-row" },
      h("h1", {}, topic),
      h(
        "div",
        { class: "actions" },
        link(`${base}/messages`, "Browse messages", { class: "button primary" }),
        link(`/console/dead-letters/${encodeURIComponent(topic)}`, "Dead letters", { class: "button" }),
      ),
    ),
    h(
      "p",
      { class: "muted" },
      `${number(described.messages)} messages in ${described.partitions.length} partitions, ${bytes(described.sizeBytes)}`,
    ),
    h("h2", {}, "Partitions"),
    table(
      [
        { title: "Partition", value: (row) => row.partition, numeric: true },
        { title: "Leader", value: (row) => row.leader, numeric: true },
        { title: "Replicas", value: (row) => row.replicas.join(", ") },
        { title: "In sync", value: (row) => row.isr.join(", ") },
        {
          title: "Log start",
          value: (row) => row.logStartOffset,
          render: (row) => number(row.logStartOffset),
          numeric: true,
        },
        {
          title: "High watermark",
          value: (row) => row.highWatermark,
          render: (row) => number(row.highWatermark),
          numeric: true,
        },
        { title: "Messages", value: (row) => row.messages, render: (row) => number(row.messages), numeric: true },
        {
          title: "Size",
          value: (row) => row.sizeBytes ?? -1,
          render: (row) => bytes(row.sizeBytes),
          numeric: true,
        },
        {
          title: "",
          value: () => "",
          render: (row) => link(`${base}/messages?partition=${row.partition}`, "Browse →"),
        },
      ],
      described.partitions,
      { id: "partitions" },
    ),
    configsSection(topic, described.configs),
    canChange() ? deleteSection(topic, navigate) : null,
  );
}

function configsSection(topic, configs) {
  // Set on this topic, as Kafka reports it: a config whose value comes from the broker's settings is not a default
  // (isDefault is false) but was not set here either.
  const overridden = configs.filter((entry) => entry.source === "DYNAMIC_TOPIC_CONFIG");
  const all = h("details", {}, h("summary", {}, `All ${configs.length} configs`));
  all.append(
    table(
      [
        {
          title: "Name",
          value: (entry) => entry.name,
          render: (entry) => h("span", { title: entry.documentation ?? "" }, entry.name),
        },
        {
          title: "Value",
          value: (entry) => entry.value ?? "",
          render: (entry) => (entry.sensitive ? "(hidden)" : (entry.value ?? "–")),
        },
        { title: "Source", value: (entry) => entry.source },
      ],
      configs,
      { id: "configs" },
    ),
  );
  const error = h("p", { class: "form-error" });
  const editor = canChange()
    ? h(
        "form",
        { class: "inline-form", id: "set-config" },
        h("input", {
          name: "name",
          placeholder: "config name, e.g. retention.ms",
          list: "config-names",
          required: true,
        }),
        h(
          "datalist",
          { id: "config-names" },
          configs.map((entry) => h("option", { value: entry.name })),
        ),
        h("input", { name: "value", placeholder: "value (empty resets to default)" }),
        h("button", { type: "submit" }, "Set"),
        error,
      )
    : null;
  editor?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(editor);
    const name = String(data.get("name"));
    const value = String(data.get("value"));
    try {
      await patch(
        `/topics/${encodeURIComponent(topic)}/configs`,
        value === "" ? { delete: [name] } : { set: { [name]: value } },
      );
      notice(`${name} ${value === "" ? "reset" : "set"}`);
      location.reload();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  return h(
    "section",
    {},
    h("h2", {}, "Configs"),
    overridden.length === 0
      ? h("p", { class: "muted" }, "No config is set on this topic: every value comes from the broker or its defaults.")
      : table(
          [
            { title: "Set on this topic", value: (entry) => entry.name },
            { title: "Value", value: (entry) => entry.value ?? "" },
          ],
          overridden,
          { id: "overridden-configs" },
        ),
    editor,
    all,
  );
}

function deleteSection(topic, navigate) {
  const input = h("input", { placeholder: `type ${topic} to confirm`, id: "delete-confirm", autocomplete: "off" });
  const button = h("button", { class: "danger", id: "delete-topic", disabled: true }, "Delete topic");
  input.addEventListener("input", () => {
    button.disabled = input.value !== topic;
  });
  const error = h("p", { class: "form-error" });
  button.addEventListener("click", async () => {
    try {
      await del(`/topics/${encodeURIComponent(topic)}?confirm=${encodeURIComponent(input.value)}`);
      notice(`Deleted ${topic}`);
      navigate("/console/topics");
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  return h(
    "section",
    { class: "card danger-zone" },
    h("h2", {}, "Delete"),
    h("p", {}, "Deleting a topic removes all its records; consumers of it stop receiving. This cannot be undone."),
    h("div", { class: "inline-form" }, input, button),
    error,
  );
}
