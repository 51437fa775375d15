/* global confirm, location */
// Consumer groups: the list with state, members and lag; one group's members and assignments, committed offsets and
// lag per partition, lag over time, an offset reset that previews the new offsets before applying them, and delete.

import { canChange } from "./app.js";
import { del, get, post } from "./api.js";
import { chart, copyable, empty, h, link, loadOrShowMissing, notice, number, table } from "./ui.js";

export async function groupsView({ container }) {
  const { groups } = await get("/groups");
  container.append(
    h("h1", {}, "Consumer groups"),
    groups.length === 0
      ? empty("No consumer groups yet: a group appears when a consumer joins it or commits offsets.")
      : table(
          [
            {
              title: "Group",
              value: (group) => group.groupId,
              render: (group) => link(`/console/groups/${encodeURIComponent(group.groupId)}`, group.groupId),
            },
            {
              title: "State",
              value: (group) => group.state,
              render: (group) => h("span", { class: `state state-${group.state}` }, group.state),
            },
            { title: "Members", value: (group) => group.members, numeric: true },
            { title: "Lag", value: (group) => group.lag ?? -1, render: (group) => number(group.lag), numeric: true },
            { title: "Protocol", value: (group) => `${group.protocolType} ${group.protocol}` },
          ],
          groups,
          { id: "groups" },
        ),
  );
}

export async function groupView({ container, navigate }, groupId) {
  const group = await loadOrShowMissing(
    container,
    () => get(`/groups/${encodeURIComponent(groupId)}`),
    "The group may have been deleted.",
    ["/console/groups", "← Consumer groups"],
  );
  if (group === null) return;
  const topics = [...new Set(group.offsets.map((entry) => entry.topic))];
  const chartBox = h("div", { class: "card chart", id: "group-lag-chart" });
  container.append(
    h("p", { class: "crumbs" }, link("/console/groups", "Consumer groups"), " / ", copyable(groupId)),
    h("h1", {}, groupId, " ", h("span", { class: `state state-${group.state}`, id: "group-state" }, group.state)),
    h(
      "p",
      { class: "muted" },
      `${group.members.length} member(s) · total lag ${number(group.lag)} · ${group.protocolType || "no protocol type"} ${group.protocol}`,
    ),
    h("h2", {}, "Members"),
    group.members.length === 0
      ? empty("No members: no consumer of this group is running. Its offsets can be reset.")
      : table(
          [
            { title: "Client", value: (member) => member.clientId },
            { title: "Host", value: (member) => member.clientHost },
            { title: "Member id", value: (member) => member.memberId, render: (member) => copyable(member.memberId) },
            {
              title: "Assigned",
              value: (member) =>
                (member.assignment ?? []).map((entry) => `${entry.topic}/${entry.partition}`).join(", "),
            },
          ],
          group.members,
          { id: "members" },
        ),
    h("h2", {}, "Offsets and lag"),
    group.offsets.length === 0
      ? empty("The group has committed no offsets.")
      : table(
          [
            {
              title: "Topic",
              value: (entry) => entry.topic,
              render: (entry) => link(`/console/topics/${encodeURIComponent(entry.topic)}`, entry.topic),
            },
            { title: "Partition", value: (entry) => entry.partition, numeric: true },
            {
              title: "Committed",
              value: (entry) => entry.committed,
              render: (entry) =>
                link(
                  `/console/topics/${encodeURIComponent(entry.topic)}/messages?partition=${entry.partition}&offset=${entry.committed}`,
                  number(entry.committed),
                ),
              numeric: true,
            },
            {
              title: "Log start",
              value: (entry) => entry.logStartOffset,
              render: (entry) => number(entry.logStartOffset),
              numeric: true,
            },
            {
              title: "High watermark",
              value: (entry) => entry.highWatermark,
              render: (entry) => number(entry.highWatermark),
              numeric: true,
            },
            { title: "Lag", value: (entry) => entry.lag, render: (entry) => number(entry.lag), numeric: true },
          ],
          group.offsets,
          { id: "offsets" },
        ),
    chartBox,
    canChange() ? resetSection(groupId, group, topics) : null,
    canChange() ? deleteSection(groupId, group, navigate) : null,
  );
  const history = group.lagHistory.filter((sample) => sample.lag !== null);
  let plot = null;
  if (history.length >= 2) {
    plot = chart(
      chartBox,
      "Lag over time",
      ["lag"],
      [history.map((sample) => sample.time / 1000), history.map((sample) => sample.lag)],
    );
  } else {
    chartBox.append(empty("Lag over time appears once the server has sampled this group a few times."));
  }
  return () => plot?.destroy();
}

function resetSection(groupId, group, topics) {
  const topic = h("input", {
    name: "topic",
    list: "group-topics",
    value: topics[0] ?? "",
    required: true,
    id: "reset-topic",
    placeholder: "topic",
  });
  const to = h(
    "select",
    { name: "to", id: "reset-to" },
    ["earliest", "latest", "timestamp", "offset", "shift"].map((name) => h("option", { value: name }, name)),
  );
  const amount = h("input", {
    name: "amount",
    id: "reset-amount",
    placeholder: "offset, shift or time",
    class: "medium",
  });
  const partitions = h("input", {
    name: "partitions",
    id: "reset-partitions",
    placeholder: "partitions (all)",
    class: "medium",
  });
  const preview = h("div", { id: "reset-preview" });
  const error = h("p", { class: "form-error", id: "reset-error" });
  const apply = h("button", { type: "button", class: "danger", id: "reset-apply", hidden: true }, "Apply reset");
  const body = () => {
    const request = { topic: topic.value, to: to.value };
    if (partitions.value.trim() !== "")
      request.partitions = partitions.value.split(",").map((part) => Number(part.trim()));
    if (to.value === "offset") request.offset = Number(amount.value);
    if (to.value === "shift") request.by = Number(amount.value);
    if (to.value === "timestamp")
      request.timestamp = /^[0-9]+$/.test(amount.value) ? Number(amount.value) : amount.value;
    return request;
  };
  const form = h(
    "form",
    { class: "inline-form", id: "reset" },
    topic,
    h(
      "datalist",
      { id: "group-topics" },
      topics.map((name) => h("option", { value: name })),
    ),
    partitions,
    to,
    amount,
    h("button", { type: "submit", id: "reset-preview-button" }, "Preview"),
    apply,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const answer = await post(`/groups/${encodeURIComponent(groupId)}/reset`, { ...body(), dryRun: true });
      preview.replaceChildren(
        table(
          [
            { title: "Partition", value: (row) => row.partition, numeric: true },
            {
              title: "Committed now",
              value: (row) => row.current ?? -1,
              render: (row) => number(row.current),
              numeric: true,
            },
            { title: "New offset", value: (row) => row.next, render: (row) => number(row.next), numeric: true },
            {
              title: "Change",
              value: (row) => row.next - (row.current ?? row.next),
              render: (row) =>
                row.current === null
                  ? "new"
                  : `${row.next - row.current >= 0 ? "+" : ""}${number(row.next - row.current)}`,
              numeric: true,
            },
          ],
          answer.offsets,
          { id: "reset-preview-table" },
        ),
      );
      if (answer.blockedBy !== null) error.textContent = `Cannot apply: ${answer.blockedBy}`;
      apply.hidden = answer.blockedBy !== null;
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  apply.addEventListener("click", async () => {
    try {
      await post(`/groups/${encodeURIComponent(groupId)}/reset`, body());
      notice("Offsets reset");
      location.reload();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Reset offsets"),
    h(
      "p",
      { class: "muted" },
      group.members.length > 0
        ? "The group has members: stop its consumers before applying a reset. You can still preview."
        : "Preview the new offsets first; nothing changes until you apply.",
    ),
    form,
    error,
    preview,
  );
}

function deleteSection(groupId, group, navigate) {
  const button = h(
    "button",
    { class: "danger", id: "delete-group", disabled: group.members.length > 0 },
    "Delete group",
  );
  const error = h("p", { class: "form-error" });
  button.addEventListener("click", async () => {
    if (!confirm(`Delete group ${groupId} and its committed offsets?`)) return;
    try {
      await del(`/groups/${encodeURIComponent(groupId)}`);
      notice(`Deleted ${groupId}`);
      navigate("/console/groups");
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  return h(
    "section",
    { class: "card danger-zone" },
    h("h2", {}, "Delete"),
    h("p", {}, "Deletes the group's committed offsets; only a group without members can be deleted."),
    button,
    error,
  );
}
