/* global document, window, fetch, WebSocket, crypto, URLSearchParams */
// The message board page. It posts messages to the API, lists the stored ones, and follows the topics
// messages.saved and messages.stored over the WebSocket gateway, so that every message shows its path:
// accepted (the API answered 202) → published (its event arrived on messages.saved) → stored (the worker announced
// it on messages.stored). Plain JavaScript, no build step.

const SAVED_TOPIC = "messages.saved";
const STORED_TOPIC = "messages.stored";
const STAGES = ["accepted", "published", "stored"];
const TEMPLATES = ["classic", "space"];
const PAGE_SIZE = 20;
/** Messages kept on the page; older ones are dropped from the bottom (the "Older messages" button brings them back). */
const MESSAGES_SHOWN_MAX = 500;
const RECONNECT_DELAY_MS_MIN = 500;
const RECONNECT_DELAY_MS_MAX = 10_000;
const TEMPLATE_STORAGE_KEY = "sluice.messages.template";
const TOKEN_STORAGE_KEY = "sluice.token";
const EVENT_ID_HEADER = "sluice-event-id";
/** The gateway's close codes for a connection without a valid token (docs/websocket.md). */
const CLOSE_UNAUTHORIZED = 4001;
const CLOSE_AUTH_TIMEOUT = 4002;
const SIGN_IN_TO_USE_THE_BOARD = "This board is for signed-in users: sign in, or create an account, to read and post.";
const SIGN_IN_FOR_LIVE_UPDATES = "sign in to see new messages live";

const elements = {
  list: document.getElementById("messages"),
  empty: document.getElementById("empty"),
  loadMore: document.getElementById("load-more"),
  form: document.getElementById("post-form"),
  text: document.getElementById("message-text"),
  postButton: document.getElementById("post-button"),
  formError: document.getElementById("form-error"),
  charCount: document.getElementById("char-count"),
  picker: document.getElementById("template-picker"),
  connection: document.getElementById("connection"),
  accountName: document.getElementById("account-name"),
  signInToggle: document.getElementById("sign-in-toggle"),
  signOut: document.getElementById("sign-out"),
  signInPanel: document.getElementById("sign-in"),
  signInForm: document.getElementById("sign-in-form"),
  signInReason: document.getElementById("sign-in-reason"),
  signInError: document.getElementById("sign-in-error"),
  username: document.getElementById("username"),
  password: document.getElementById("password"),
};

const state = {
  /** Message id → { element, stages: Set, cursor } */
  messages: new Map(),
  /** Topic → { partition: last offset seen }, sent as `resume` when the socket reconnects. */
  lastOffsets: { [SAVED_TOPIC]: {}, [STORED_TOPIC]: {} },
  socket: null,
  reconnectDelayMs: RECONNECT_DELAY_MS_MIN,
  oldestCursor: null,
  token: readStorage(TOKEN_STORAGE_KEY),
  username: null,
};

function readStorage(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function writeStorage(key, value) {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    // Storage can be unavailable (private windows); the page works without remembering.
  }
}

/** A version 4 UUID. crypto.randomUUID exists only in secure contexts; getRandomValues exists everywhere. */
function newMessageId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---- templates ----

function currentTemplate() {
  return document.body.dataset.template;
}

function applyTemplate(template) {
  const chosen = TEMPLATES.includes(template) ? template : TEMPLATES[0];
  document.body.dataset.template = chosen;
  elements.picker.value = chosen;
  writeStorage(TEMPLATE_STORAGE_KEY, chosen);
}

// ---- the API ----

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = body?.error ?? null;
    this.field = body?.field ?? null;
  }
}

async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (state.token !== null) headers.authorization = `Bearer ${state.token}`;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    if (response.status === 401) showSignIn(SIGN_IN_TO_USE_THE_BOARD);
    throw new ApiError(response.status, parsed);
  }
  return parsed;
}

// ---- rendering ----

function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

function renderMessage(message) {
  const item = document.createElement("li");
  item.className = "message";
  item.dataset.id = message.id;
  item.dataset.template = TEMPLATES.includes(message.template) ? message.template : TEMPLATES[0];

  const text = document.createElement("p");
  text.className = "message-text";
  text.textContent = message.text;

  const meta = document.createElement("p");
  meta.className = "message-meta";
  const author = document.createElement("span");
  author.className = "message-author";
  author.textContent = message.author ?? "anonymous";
  const time = document.createElement("time");
  time.className = "message-time";
  if (message.acceptedAt) {
    time.dateTime = message.acceptedAt;
    time.textContent = formatTime(message.acceptedAt);
  }
  const path = document.createElement("ol");
  path.className = "path";
  path.setAttribute("aria-label", "path");
  for (const stage of STAGES) {
    const step = document.createElement("li");
    step.dataset.stage = stage;
    step.textContent = stage;
    path.append(step);
  }
  meta.append(author, " · ", time, path);
  item.append(text, meta);
  return item;
}

function fillMessage(entry, message) {
  entry.element.querySelector(".message-text").textContent = message.text;
  entry.element.querySelector(".message-author").textContent = message.author ?? "anonymous";
  entry.element.dataset.template = TEMPLATES.includes(message.template) ? message.template : TEMPLATES[0];
  const time = entry.element.querySelector(".message-time");
  if (message.acceptedAt && !time.dateTime) {
    time.dateTime = message.acceptedAt;
    time.textContent = formatTime(message.acceptedAt);
  }
  entry.placeholder = false;
}

function markStages(entry, stages) {
  for (const stage of stages) {
    entry.stages.add(stage);
    entry.element.querySelector(`[data-stage="${stage}"]`).classList.add("done");
  }
  entry.element.dataset.stage = STAGES.filter((stage) => entry.stages.has(stage)).pop() ?? "";
}

/** Adds a message at the top (new) or bottom (older page), or updates it when it is already shown. */
function showMessage(message, { stages, position, placeholder = false }) {
  let entry = state.messages.get(message.id);
  if (entry === undefined) {
    entry = { element: renderMessage(message), stages: new Set(), placeholder };
    state.messages.set(message.id, entry);
    if (position === "top") {
      entry.element.classList.add("arrived");
      elements.list.prepend(entry.element);
    } else {
      elements.list.append(entry.element);
    }
    trimMessages();
  } else if (entry.placeholder && !placeholder) {
    fillMessage(entry, message);
  }
  // A message that is stored was necessarily accepted and published before.
  const reached = stages.includes("stored") ? STAGES : stages.includes("published") ? STAGES.slice(0, 2) : stages;
  markStages(entry, reached);
  elements.empty.hidden = state.messages.size > 0;
  return entry;
}

function removeMessage(id) {
  const entry = state.messages.get(id);
  if (entry === undefined) return;
  entry.element.remove();
  state.messages.delete(id);
  elements.empty.hidden = state.messages.size > 0;
}

function trimMessages() {
  while (state.messages.size > MESSAGES_SHOWN_MAX) {
    const last = elements.list.lastElementChild;
    if (last === null) return;
    state.messages.delete(last.dataset.id);
    last.remove();
    elements.loadMore.hidden = false;
  }
}

// ---- loading stored messages ----

async function loadPage(before) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (before !== null) query.set("before", before);
  const page = await api("GET", `/api/messages?${query}`);
  for (const message of page.messages) showMessage(message, { stages: ["stored"], position: "bottom" });
  const last = page.messages[page.messages.length - 1];
  if (last !== undefined) state.oldestCursor = last.cursor;
  elements.loadMore.hidden = page.nextCursor === null;
  elements.empty.hidden = state.messages.size > 0;
}

async function loadNewest() {
  try {
    await loadPage(null);
  } catch (error) {
    // A board that requires signing in has already shown its sign-in form; the API's reason is not for visitors.
    if (error instanceof ApiError && error.status === 401) return;
    elements.formError.textContent = `Could not load the messages: ${error.message}`;
  }
}

/** A message announced as stored before this page saw it published (it loaded in between): fetch its text. */
async function fetchStoredMessage(id) {
  try {
    const message = await api("GET", `/api/messages/${id}`);
    showMessage(message, { stages: ["stored"], position: "top" });
  } catch {
    // It will show with the next page load; nothing to do here.
  }
}

// ---- live updates ----

function setConnection(stateName, label) {
  elements.connection.dataset.state = stateName;
  elements.connection.textContent = label;
}

function subscribe(socket, topic) {
  const resume = state.lastOffsets[topic];
  const message = { type: "subscribe", id: topic, topic };
  if (Object.keys(resume).length > 0) message.resume = resume;
  socket.send(JSON.stringify(message));
}

function onEvent(event) {
  const seen = state.lastOffsets[event.topic];
  if (seen !== undefined) seen[String(event.partition)] = Math.max(seen[String(event.partition)] ?? -1, event.offset);
  if (event.topic === SAVED_TOPIC) {
    const id = event.headers?.[EVENT_ID_HEADER];
    const value = event.value;
    if (typeof id !== "string" || typeof value !== "object" || value === null) return;
    showMessage({ id, ...value }, { stages: ["published"], position: "top" });
  } else if (event.topic === STORED_TOPIC) {
    const id = event.value?.messageId;
    if (typeof id !== "string") return;
    const entry = state.messages.get(id);
    if (entry === undefined) {
      void fetchStoredMessage(id);
      return;
    }
    markStages(entry, STAGES);
  }
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const protocols = ["sluice.v1"];
  if (state.token !== null) protocols.push(`sluice.token.${state.token}`);
  setConnection("connecting", "connecting…");
  const socket = new WebSocket(`${scheme}//${window.location.host}/ws`, protocols);
  state.socket = socket;
  let subscribed = 0;
  socket.addEventListener("open", () => {
    subscribe(socket, SAVED_TOPIC);
    subscribe(socket, STORED_TOPIC);
  });
  socket.addEventListener("message", (message) => {
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (frame.type === "event") onEvent(frame);
    else if (frame.type === "subscribed") {
      subscribed += 1;
      if (subscribed === 2) {
        state.reconnectDelayMs = RECONNECT_DELAY_MS_MIN;
        setConnection("live", "live");
      }
    } else if (frame.type === "error" && frame.code === "SLUICE_UNAUTHORIZED") {
      setConnection("offline", SIGN_IN_FOR_LIVE_UPDATES);
      showSignIn(SIGN_IN_TO_USE_THE_BOARD);
    } else if (frame.type === "error") {
      setConnection("offline", `live updates failed: ${frame.message ?? frame.code}`);
    }
  });
  socket.addEventListener("close", (close) => {
    if (state.socket !== socket) return;
    state.socket = null;
    // Closed for want of a token: reconnecting cannot help before signing in, which reconnects.
    if (close.code === CLOSE_UNAUTHORIZED || close.code === CLOSE_AUTH_TIMEOUT) {
      setConnection("offline", SIGN_IN_FOR_LIVE_UPDATES);
      return;
    }
    const reason = close.reason ? ` (${close.reason})` : "";
    setConnection("offline", `offline${reason}; reconnecting`);
    const delayMs = state.reconnectDelayMs;
    state.reconnectDelayMs = Math.min(RECONNECT_DELAY_MS_MAX, delayMs * 2);
    window.setTimeout(connect, delayMs * (0.5 + Math.random() / 2));
  });
}

function reconnect() {
  const socket = state.socket;
  state.socket = null;
  if (socket !== null) socket.close(1000, "signing in or out");
  connect();
}

// ---- posting ----

async function post(text) {
  const id = newMessageId();
  const template = currentTemplate();
  elements.formError.textContent = "";
  elements.postButton.disabled = true;
  showMessage(
    { id, text, template, author: state.username, acceptedAt: new Date().toISOString() },
    { stages: [], position: "top" },
  );
  try {
    await api("POST", "/api/messages", { id, text, template });
    const entry = state.messages.get(id);
    if (entry !== undefined) markStages(entry, ["accepted"]);
    elements.text.value = "";
    updateCharCount();
  } catch (error) {
    removeMessage(id);
    elements.formError.textContent =
      error instanceof ApiError && error.status === 401
        ? "Sign in to post; your message was not sent."
        : error instanceof ApiError
          ? error.message
          : "The server cannot be reached; your message was not sent.";
  } finally {
    elements.postButton.disabled = false;
  }
}

function updateCharCount() {
  const used = [...elements.text.value].length;
  const max = Number(elements.text.maxLength);
  elements.charCount.textContent = used === 0 ? "" : `${used} / ${max}`;
}

// ---- signing in ----

function showSignIn(reason) {
  elements.signInReason.textContent = reason;
  elements.signInPanel.hidden = false;
}

function setSignedIn(username, token) {
  state.username = username;
  state.token = token;
  writeStorage(TOKEN_STORAGE_KEY, token);
  elements.accountName.textContent = username ?? "anonymous";
  elements.signInToggle.hidden = username !== null;
  elements.signOut.hidden = username === null;
}

async function restoreSession() {
  if (state.token === null) return;
  try {
    const me = await api("GET", "/api/auth/me");
    setSignedIn(me.username, state.token);
  } catch {
    setSignedIn(null, null);
  }
}

async function signIn(action) {
  elements.signInError.textContent = "";
  try {
    const path = action === "register" ? "/api/auth/register" : "/api/auth/login";
    const body = { username: elements.username.value, password: elements.password.value };
    const response = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => null);
    if (response.status === 404) throw new Error("signing in is turned off on this server");
    if (!response.ok) throw new Error(answer?.message ?? `the server answered ${response.status}`);
    setSignedIn(answer.username, answer.token);
    elements.password.value = "";
    elements.signInPanel.hidden = true;
    reconnect();
    if (state.messages.size === 0) await loadNewest();
  } catch (error) {
    elements.signInError.textContent = error.message;
  }
}

// ---- start ----

function start() {
  applyTemplate(readStorage(TEMPLATE_STORAGE_KEY) ?? currentTemplate());
  elements.picker.addEventListener("change", () => applyTemplate(elements.picker.value));
  elements.text.addEventListener("input", updateCharCount);
  elements.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = elements.text.value.trim();
    if (text === "") {
      elements.formError.textContent = "Write something first.";
      return;
    }
    void post(text);
  });
  elements.loadMore.addEventListener("click", () => {
    if (state.oldestCursor !== null) void loadPage(state.oldestCursor).catch(() => undefined);
  });
  elements.signInToggle.addEventListener("click", () => {
    elements.signInPanel.hidden = !elements.signInPanel.hidden;
  });
  elements.signOut.addEventListener("click", () => {
    setSignedIn(null, null);
    reconnect();
  });
  elements.signInForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void signIn(event.submitter?.dataset.action ?? "login");
  });
  void restoreSession().then(() => {
    connect();
    return loadNewest();
  });
}

start();
