// Overview: the cluster's brokers, topic, partition and group counts, groups by state, and charts of messages in and
// out per second and total lag over the server's sampled history.

import { get } from "./api.js";
import { chart, empty, h, link, number, table } from "./ui.js";

export async function overviewView({ container }) {
  const load = () => get("/overview");
  let overview = await load();
  const charts = h("div", { class: "charts" });
  const stats = h("div", { class: "stats" });
  const details = h("div", { class: "columns" });
  container.append(h("h1", {}, "Overview"), stats, charts, details);
  let plots = [];

  const draw = () => {
    stats.replaceChildren(
      stat("Brokers", overview.brokers.length),
      stat("Topics", overview.topics, "/console/topics"),
      stat("Partitions", overview.partitions),
      stat("Consumer groups", overview.groups, "/console/groups"),
      stat("Messages in /s", overview.samples.at(-1)?.messagesInPerSecond.toFixed(1) ?? "–"),
      stat("Total lag", number(overview.samples.at(-1)?.totalLag ?? null)),
    );
    details.replaceChildren(
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Brokers"),
        table(
          [
            { title: "Node", value: (broker) => broker.nodeId, numeric: true },
            { title: "Address", value: (broker) => `${broker.host}:${broker.port}` },
            { title: "Role", value: (broker) => (broker.nodeId === overview.controllerId ? "controller" : "") },
          ],
          overview.brokers,
          { id: "brokers" },
        ),
        h("p", { class: "muted" }, `Cluster ${overview.clusterId ?? "(no id)"}`),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Groups by state"),
        Object.keys(overview.groupsByState).length === 0
          ? empty("No consumer groups yet: they appear when a consumer joins or commits offsets.")
          : table(
              [
                { title: "State", value: ([state]) => state },
                { title: "Groups", value: ([, count]) => count, numeric: true },
              ],
              Object.entries(overview.groupsByState),
              { id: "groups-by-state" },
            ),
      ),
    );
    const samples = overview.samples;
    for (const plot of plots) plot.destroy();
    plots = [];
    charts.replaceChildren();
    if (overview.samplerError)
      charts.append(h("p", { class: "error-box" }, `Sampling failed: ${overview.samplerError}`));
    if (samples.length < 2) {
      charts.append(empty(`Charts fill in as samples arrive (one every ${overview.sampleIntervalMs / 1000} s).`));
      return;
    }
    const times = samples.map((sample) => sample.time / 1000);
    const rates = h("div", { class: "card chart", id: "rates-chart" });
    const lag = h("div", { class: "card chart", id: "lag-chart" });
    charts.append(rates, lag);
    plots.push(
      chart(
        rates,
        "Messages per second",
        ["in", "out (committed)"],
        [
          times,
          samples.map((sample) => sample.messagesInPerSecond),
          samples.map((sample) => sample.messagesOutPerSecond),
        ],
      ),
      chart(lag, "Total consumer lag", ["lag"], [times, samples.map((sample) => sample.totalLag)]),
    );
  };
  draw();
  const timer = setInterval(async () => {
    try {
      overview = await load();
      draw();
    } catch {
      // The next refresh tries again; the page keeps what it shows.
    }
  }, overview.sampleIntervalMs);
  return () => {
    clearInterval(timer);
    for (const plot of plots) plot.destroy();
  };
}

function stat(label, value, href) {
  const body = [h("span", { class: "stat-value" }, String(value)), h("span", { class: "stat-label" }, label)];
  return href ? link(href, body, { class: "stat card" }) : h("div", { class: "stat card" }, body);
}
