// Audit: every change made through the console, newest first: who, what, to what, when, and whether it worked.

import { get } from "./api.js";
import { empty, h, table, time } from "./ui.js";

export async function auditView({ container }) {
  const { entries } = await get("/audit");
  container.append(
    h("h1", {}, "Audit log"),
    h("p", { class: "muted" }, "Changes made through this console since it started; each is also written to its log."),
    entries.length === 0
      ? empty("No changes yet.")
      : table(
          [
            { title: "Time (UTC)", value: (entry) => entry.time, render: (entry) => time(Date.parse(entry.time)) },
            { title: "User", value: (entry) => entry.user },
            { title: "Action", value: (entry) => entry.action },
            { title: "Target", value: (entry) => entry.target },
            {
              title: "Outcome",
              value: (entry) => entry.outcome,
              render: (entry) =>
                h("span", { class: `outcome-${entry.outcome}`, title: entry.error ?? "" }, entry.outcome),
            },
            { title: "Details", value: (entry) => JSON.stringify(entry.details) },
          ],
          entries,
          { id: "audit" },
        ),
  );
}
