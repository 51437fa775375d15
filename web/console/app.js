/* global Element, FormData, URLSearchParams, document, history, localStorage, location, window */
// The console page: routes every /console/... URL to its view (so each view can be bookmarked and linked), keeps the
// signed-in session, and binds the keys that move around (g then o/t/c/s/d/a, / to filter, t for the theme).

import { ApiError, BASE, get, post, setToken } from "./api.js";
import { errorBox, h } from "./ui.js";
import { auditView } from "./view-audit.js";
import { groupsView, groupView } from "./view-groups.js";
import { messagesView } from "./view-messages.js";
import { overviewView } from "./view-overview.js";
import { topicsView, topicView } from "./view-topics.js";
import { deadLettersView, schemasView } from "./view-more.js";
import { outboxView } from "./view-outbox.js";

const ROUTES = [
  [/^\/?$/, "overview", () => overviewView],
  [/^\/topics\/?$/, "topics", () => topicsView],
  [/^\/topics\/([^/]+)\/messages\/?$/, "topics", (topic) => (ctx) => messagesView(ctx, topic)],
  [/^\/topics\/([^/]+)\/?$/, "topics", (topic) => (ctx) => topicView(ctx, topic)],
  [/^\/groups\/?$/, "groups", () => groupsView],
  [/^\/groups\/([^/]+)\/?$/, "groups", (group) => (ctx) => groupView(ctx, group)],
  [/^\/schemas(?:\/([^/]+))?\/?$/, "schemas", (subject) => (ctx) => schemasView(ctx, subject)],
  [/^\/dead-letters(?:\/([^/]+))?\/?$/, "dead-letters", (topic) => (ctx) => deadLettersView(ctx, topic)],
  [/^\/outbox\/?$/, "outbox", () => outboxView],
  [/^\/audit\/?$/, "audit", () => auditView],
];

export const session = { authMode: "off", user: null, registry: false, database: false };

/** Whether the signed-in user may change things; the server decides again on every change. */
export function canChange() {
  if (session.authMode !== "required") return true;
  return session.user?.roles?.includes("admin") === true;
}

let stopCurrent = null;

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render();
}

async function loadSession() {
  Object.assign(session, await get("/session"));
  const who = document.getElementById("who");
  const signOut = document.getElementById("sign-out");
  who.textContent = session.user
    ? `${session.user.username}${session.user.roles.includes("admin") ? " (admin)" : " (viewer)"}`
    : "";
  signOut.hidden = session.user === null;
  document.body.dataset.canChange = String(canChange());
}

function signInView(reason) {
  const error = h("p", { class: "form-error", id: "sign-in-error" });
  const form = h(
    "form",
    { class: "card sign-in", id: "sign-in" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, reason),
    h("label", {}, "Username", h("input", { name: "username", autocomplete: "username", required: true })),
    h(
      "label",
      {},
      "Password",
      h("input", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    ),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const signedIn = await post(
        "/api/auth/login",
        { username: data.get("username"), password: data.get("password") },
        { root: true },
      );
      setToken(signedIn.token);
      await loadSession();
      render();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  return form;
}

async function render() {
  stopCurrent?.();
  stopCurrent = null;
  const path = decodeURI(location.pathname.slice(BASE.length)) || "/";
  const main = document.getElementById("view");
  let matched = null;
  for (const [pattern, nav, make] of ROUTES) {
    const match = pattern.exec(path);
    if (match !== null) {
      matched = {
        nav,
        view: make(...match.slice(1).map((part) => (part === undefined ? undefined : decodeURIComponent(part)))),
      };
      break;
    }
  }
  for (const anchor of document.querySelectorAll("[data-nav]")) {
    anchor.classList.toggle("active", anchor.dataset.nav === matched?.nav);
  }
  if (matched === null) {
    main.replaceChildren(
      errorBox({ code: "Not found", message: `the console has no page ${path}` }, "Use the menu above."),
    );
    return;
  }
  if (session.authMode === "required" && session.user === null) {
    main.replaceChildren(signInView("This console needs a signed-in user; viewers see everything, admins change."));
    return;
  }
  const params = new URLSearchParams(location.search);
  const container = h("div", { class: "view" });
  // Views pass optional parts (a form only admins see) as null; they are left out rather than shown as "null".
  container.append = (...children) =>
    Element.prototype.append.apply(
      container,
      children.filter((child) => child != null),
    );
  main.replaceChildren(container);
  try {
    stopCurrent = (await matched.view({ container, params, navigate })) ?? null;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      setToken(null);
      await loadSession();
      main.replaceChildren(signInView("Your session ended; sign in again."));
      return;
    }
    container.replaceChildren(errorBox(error, "Check that the Kafka cluster is reachable, then reload."));
  }
}

document.addEventListener("click", (event) => {
  const anchor = event.target.closest?.("a[data-link]");
  if (anchor === null || anchor === undefined || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  navigate(anchor.getAttribute("href"));
});
window.addEventListener("popstate", render);

const JUMPS = {
  o: "/console/",
  t: "/console/topics",
  c: "/console/groups",
  s: "/console/schemas",
  d: "/console/dead-letters",
  a: "/console/audit",
};
let pendingG = false;
document.addEventListener("keydown", (event) => {
  if (event.target.closest?.("input, textarea, select") || event.metaKey || event.ctrlKey || event.altKey) return;
  if (pendingG && JUMPS[event.key]) {
    pendingG = false;
    navigate(JUMPS[event.key]);
    return;
  }
  pendingG = event.key === "g";
  if (event.key === "/") {
    const filter = document.querySelector("[data-filter]");
    if (filter) {
      event.preventDefault();
      filter.focus();
    }
  } else if (event.key === "t" && !pendingG) {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    localStorage.setItem("sluice-console-theme", next);
  }
});
document.getElementById("theme").addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  localStorage.setItem("sluice-console-theme", next);
});
document.getElementById("sign-out").addEventListener("click", async () => {
  setToken(null);
  await loadSession();
  render();
});

try {
  await loadSession();
} catch (error) {
  if (error instanceof ApiError && error.status === 401) setToken(null);
  await loadSession().catch(() => undefined);
}
render();
