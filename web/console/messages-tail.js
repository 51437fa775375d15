/* global URLSearchParams, history, location */
// The messages page's live tail: new messages of the chosen partitions as they arrive, pausable and resumable without
// missing any, keeping the newest TAIL_BUFFER_MESSAGES.

import { streamEvents } from "./api.js";
import { h, number } from "./ui.js";

/** Tailed messages the page keeps; older ones are dropped, so a long tail does not grow the page without bound. */
export const TAIL_BUFFER_MESSAGES = 500;
/** How long the page waits before opening a tail again after the stream broke. */
const TAIL_RECONNECT_MS = 2_000;

/**
 * The live tail's buttons and state: Live starts a stream from the end of the chosen partitions, Pause closes it and
 * remembers where each partition was, Resume opens it again from there (nothing is missed), Stop forgets it all.
 */
export function liveTail(topic, partitionSelect, show, status) {
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
