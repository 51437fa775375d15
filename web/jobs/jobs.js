/* global document, window, fetch, WebSocket, localStorage, FormData */
// The jobs board's page. Employers post jobs and review the applications to them; job seekers search, apply and
// follow their applications. Notifications arrive live over the WebSocket gateway (each user's private stream of
// jobs-notifications). The API is read relative to this page, so it works under /jobs/ and at the root alike.

const ANALYTICS_REFRESH_MS = 3000;
const state = { access: null, user: null, socket: null };
const $ = (id) => document.getElementById(id);

function escapeHtml(text) {
  return String(text).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
}

async function api(path, options = {}) {
  const headers = { ...(options.headers ?? {}) };
  if (state.access !== null) headers.authorization = `Bearer ${state.access}`;
  let body;
  if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  const response = await fetch(`api/${path}`, { method: options.method ?? (body ? "POST" : "GET"), headers, body });
  const text = await response.text();
  const data = text === "" ? null : JSON.parse(text);
  if (!response.ok) throw new Error(data?.message ?? `${response.status} ${response.statusText}`);
  return data;
}

function signedIn(answer) {
  state.access = answer.access;
  state.user = answer.user;
  localStorage.setItem("jobs.session", JSON.stringify({ access: answer.access, user: answer.user }));
  render();
  // Analytics counts everyone's events, not only those this user is told of, so the chart refreshes on its own.
  window.setInterval(() => loadAnalytics().catch(() => undefined), ANALYTICS_REFRESH_MS);
}

function signOut() {
  state.access = null;
  state.user = null;
  localStorage.removeItem("jobs.session");
  state.socket?.close();
  state.socket = null;
  render();
  // Analytics counts everyone's events, not only those this user is told of, so the chart refreshes on its own.
  window.setInterval(() => loadAnalytics().catch(() => undefined), ANALYTICS_REFRESH_MS);
}

async function submitAccount(event, path, errorTarget) {
  event.preventDefault();
  const fields = Object.fromEntries(new FormData(event.target));
  if (path === "users/register/") fields.password_confirm = fields.password;
  try {
    signedIn(await api(path, { json: fields }));
    errorTarget.textContent = "";
  } catch (error) {
    errorTarget.textContent = error.message;
  }
}

function isEmployer() {
  return state.user?.user_type === "employer";
}

function jobItem(job) {
  const item = document.createElement("li");
  item.dataset.jobId = job.id;
  const where = [job.company, job.location, job.remote ? "remote" : ""].filter(Boolean).join(" · ");
  const text = job.highlight ? job.highlight : escapeHtml(job.description);
  item.innerHTML = `<h3>${escapeHtml(job.title)}</h3><p class="muted">${escapeHtml(where)}</p><p>${text}</p>`;
  const actions = document.createElement("div");
  actions.className = "actions";
  if (state.user !== null && !isEmployer()) {
    const apply = document.createElement("button");
    apply.textContent = "Apply";
    apply.addEventListener("click", async () => {
      try {
        await api("applications/", { json: { job_id: job.id, cover_letter: "" } });
        apply.textContent = "Applied";
        apply.disabled = true;
        $("apply-error").textContent = "";
        loadApplications();
      } catch (error) {
        $("apply-error").textContent = error.message;
      }
    });
    actions.append(apply);
  }
  if (isEmployer() && job.employer_id === state.user.id) {
    const remove = document.createElement("button");
    remove.className = "secondary";
    remove.textContent = "Delete";
    remove.addEventListener("click", async () => {
      await api(`jobs/${job.id}/`, { method: "DELETE" });
      item.remove();
    });
    actions.append(remove);
  }
  item.append(actions);
  return item;
}

async function searchJobs(query) {
  const answer = await api(`search/?type=jobs&q=${encodeURIComponent(query)}`);
  const list = $("results");
  list.replaceChildren(...answer.results.map(jobItem));
  if (answer.results.length === 0) list.innerHTML = `<li class="muted">No jobs match.</li>`;
}

async function loadApplications() {
  if (state.user === null) return;
  const answer = await api("applications/");
  $("applications-title").textContent = isEmployer() ? "Applications to your jobs" : "Your applications";
  $("applications").replaceChildren(
    ...answer.results.map((application) => {
      const item = document.createElement("li");
      item.dataset.applicationId = application.id;
      const who = isEmployer() ? `${escapeHtml(application.applicant_username)} → ` : "";
      item.innerHTML = `<h3>${who}${escapeHtml(application.job_title)}</h3>
        <p class="muted">Status: <strong class="status">${escapeHtml(application.status)}</strong></p>`;
      if (isEmployer()) {
        const actions = document.createElement("div");
        actions.className = "actions";
        for (const status of ["reviewed", "accepted", "rejected"]) {
          const button = document.createElement("button");
          button.textContent = status[0].toUpperCase() + status.slice(1);
          button.className = "secondary";
          button.addEventListener("click", async () => {
            await api(`applications/${application.id}/`, { method: "PATCH", json: { status } });
            loadApplications();
          });
          actions.append(button);
        }
        item.append(actions);
      }
      return item;
    }),
  );
}

async function loadNotifications() {
  if (state.user === null) return;
  const answer = await api("notifications/");
  $("unread").textContent = answer.unread > 0 ? String(answer.unread) : "";
  $("notifications").replaceChildren(
    ...answer.results.map((note) => {
      const item = document.createElement("li");
      if (!note.read) item.className = "unread";
      item.textContent = note.message;
      return item;
    }),
  );
}

function watchNotifications() {
  if (state.user === null || state.socket !== null) return;
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${window.location.host}/ws`, ["sluice.v1", `sluice.token.${state.access}`]);
  state.socket = socket;
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ type: "subscribe", id: "notes", topic: "jobs-notifications", key: state.user.id }));
  });
  socket.addEventListener("message", (message) => {
    const data = JSON.parse(message.data);
    if (data.type !== "event") return;
    loadNotifications();
    loadApplications();
    loadAnalytics();
  });
  socket.addEventListener("close", () => {
    if (state.socket !== socket) return;
    state.socket = null;
    window.setTimeout(watchNotifications, 2000);
  });
}

async function loadAnalytics() {
  const summary = await api("analytics/summary/");
  const entries = Object.entries(summary.totals);
  const most = Math.max(1, ...entries.map(([, count]) => count));
  $("chart").replaceChildren(
    ...entries.map(([type, count]) => {
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.innerHTML = `<span>${escapeHtml(type)}</span><span class="fill" style="width:${(count / most) * 100}%"></span>
        <span>${count}</span>`;
      return bar;
    }),
  );
  const funnel = summary.funnel;
  $("funnel").textContent =
    `Applications: ${funnel.submitted} submitted, ${funnel.reviewed} reviewed, ` +
    `${funnel.accepted} accepted, ${funnel.rejected} rejected.`;
}

function render() {
  const user = state.user;
  $("who").textContent = user === null ? "Not signed in" : `${user.username} (${user.user_type.replace("_", " ")})`;
  $("sign-out").hidden = user === null;
  $("account").hidden = user !== null;
  $("post").hidden = !isEmployer();
  $("applications-section").hidden = user === null;
  $("notifications-section").hidden = user === null;
  searchJobs($("search-form").elements.q.value).catch(() => undefined);
  loadApplications().catch(() => undefined);
  loadNotifications().catch(() => undefined);
  loadAnalytics().catch(() => undefined);
  watchNotifications();
}

$("sign-in-form").addEventListener("submit", (event) => submitAccount(event, "users/login/", $("account-error")));
$("register-form").addEventListener("submit", (event) => submitAccount(event, "users/register/", $("account-error")));
$("sign-out").addEventListener("click", signOut);
$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  searchJobs(event.target.elements.q.value);
});
$("mark-read").addEventListener("click", async () => {
  await api("notifications/read/", { method: "POST" });
  loadNotifications();
});
$("post-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const fields = Object.fromEntries(new FormData(event.target));
  try {
    await api("jobs/", { json: { ...fields, remote: fields.remote === "on" } });
    event.target.reset();
    $("post-error").textContent = "";
    // The search index catches up from the job's event in a moment.
    window.setTimeout(() => searchJobs($("search-form").elements.q.value), 300);
  } catch (error) {
    $("post-error").textContent = error.message;
  }
});

const saved = localStorage.getItem("jobs.session");
if (saved !== null) {
  const session = JSON.parse(saved);
  state.access = session.access;
  state.user = session.user;
}
render();
// Analytics counts everyone's events, not only those this user is told of, so the chart refreshes on its own.
window.setInterval(() => loadAnalytics().catch(() => undefined), ANALYTICS_REFRESH_MS);
