/* global document, window, fetch, WebSocket */
// Wordium's page: sign up or log in, write posts, read the latest ones, look people up and follow them, and see
// notifications arrive live over the WebSocket gateway: new posts (marked when their author is followed), new
// followers on the user's own private stream, and broadcasts. Plain JavaScript, no build step. Paths are relative,
// so the page works under /wordium/ and at the root.

const POST_TOPIC = "post.created";
const NOTIFICATION_TOPIC = "user-notifications";
const BROADCAST_TOPIC = "notification.broadcast";
const SESSION_STORAGE_KEY = "sluice.wordium.session";
const POSTS_SHOWN_MAX = 200;
const RECONNECT_DELAY_MS_MIN = 500;
const RECONNECT_DELAY_MS_MAX = 10_000;

const $ = (id) => document.getElementById(id);

const state = {
  session: readSession(),
  /** Ids of the users this user follows, for marking their posts. */
  following: new Set(),
  /** Topic → { partition: last offset seen }, sent as `resume` when the socket reconnects. */
  lastOffsets: {},
  socket: null,
  reconnectDelayMs: RECONNECT_DELAY_MS_MIN,
  shownProfile: null,
  unread: 0,
};

function readSession() {
  try {
    const stored = window.localStorage.getItem(SESSION_STORAGE_KEY);
    return stored === null ? null : JSON.parse(stored);
  } catch {
    return null;
  }
}

function writeSession(session) {
  state.session = session;
  try {
    if (session === null) window.localStorage.removeItem(SESSION_STORAGE_KEY);
    else window.localStorage.setItem(SESSION_STORAGE_KEY, JSON.stringify(session));
  } catch {
    // Storage can be unavailable (private windows); the page works without remembering.
  }
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `the server answered ${status}`);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (state.session !== null) headers.authorization = `Bearer ${state.session.token}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const parsed = text === "" ? null : JSON.parse(text);
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  return node;
}

// ---- signing in ----

async function signedIn(session) {
  writeSession(session);
  $("welcome").hidden = true;
  $("app").hidden = false;
  $("account").hidden = false;
  $("sign-out").hidden = false;
  $("account-name").textContent = session.user.username;
  connect();
  await Promise.all([loadFeed(), loadNotifications(), loadFollowing()]);
}

function signOut() {
  writeSession(null);
  state.socket?.close();
  window.location.reload();
}

async function submitWelcome(event, path, fields) {
  event.preventDefault();
  $("welcome-error").textContent = "";
  const body = {};
  for (const [name, id] of Object.entries(fields)) body[name] = $(id).value;
  try {
    const answer = await api("POST", path, body);
    await signedIn({ token: answer.token, user: answer.user });
  } catch (error) {
    $("welcome-error").textContent = error.message;
  }
}

// ---- posts ----

function postItem(post, fresh) {
  const item = element("li", undefined, fresh ? "new" : undefined);
  item.dataset.postId = post.postId ?? post.id;
  item.append(element("h3", post.title));
  const byline = element("p");
  const author = element("span", post.author, "author");
  author.addEventListener("click", () => showProfile(post.author));
  byline.append("by ", author);
  item.append(byline, element("p", post.excerpt ?? post.body));
  return item;
}

function showPost(post, fresh) {
  const feed = $("feed");
  if (feed.querySelector(`[data-post-id="${post.postId ?? post.id}"]`) !== null) return;
  feed.prepend(postItem(post, fresh));
  while (feed.children.length > POSTS_SHOWN_MAX) feed.lastElementChild.remove();
}

async function loadFeed() {
  const page = await api("GET", "api/posts?limit=20");
  for (const post of page.posts.reverse()) showPost(post, false);
}

async function submitPost(event) {
  event.preventDefault();
  $("post-error").textContent = "";
  try {
    await api("POST", "api/posts", { title: $("post-title").value, body: $("post-body").value });
    $("post-title").value = "";
    $("post-body").value = "";
  } catch (error) {
    $("post-error").textContent = error.message;
  }
}

// ---- people ----

async function loadFollowing() {
  try {
    const answer = await api("GET", `api/users/${encodeURIComponent(state.session.user.username)}/following`);
    state.following = new Set(answer.following.map((user) => user.userId));
  } catch {
    // A brand-new account's profile may not exist yet; it follows nobody then.
  }
}

async function showProfile(username) {
  $("profile-error").textContent = "";
  try {
    const profile = await api("GET", `api/users/${encodeURIComponent(username)}`);
    state.shownProfile = profile;
    $("profile").hidden = false;
    $("profile-name").textContent = profile.username;
    $("profile-posts").textContent = String(profile.postCount);
    $("profile-followers").textContent = String(profile.followers);
    $("profile-following").textContent = String(profile.following);
    const self = profile.userId === state.session.user.id;
    $("follow-button").hidden = self;
    $("follow-button").textContent = state.following.has(profile.userId) ? "Unfollow" : "Follow";
  } catch (error) {
    $("profile").hidden = true;
    $("profile-error").textContent = error.message;
  }
}

async function toggleFollow() {
  const profile = state.shownProfile;
  if (profile === null) return;
  const following = state.following.has(profile.userId);
  try {
    await api(following ? "DELETE" : "POST", `api/users/${encodeURIComponent(profile.username)}/follow`);
    if (following) state.following.delete(profile.userId);
    else state.following.add(profile.userId);
    await showProfile(profile.username);
  } catch (error) {
    $("profile-error").textContent = error.message;
  }
}

// ---- notifications ----

function setUnread(count) {
  state.unread = count;
  $("unread").textContent = String(count);
}

function showNotification(text, unread) {
  const item = element("li", text, unread ? "unread" : undefined);
  $("notifications").prepend(item);
}

async function loadNotifications() {
  const answer = await api("GET", "api/notifications?limit=50");
  for (const notification of answer.notifications.reverse()) {
    showNotification(`${notification.actor} followed you`, !notification.read);
  }
  setUnread(answer.unread);
}

async function markRead() {
  await api("POST", "api/notifications/read", {});
  for (const item of $("notifications").querySelectorAll(".unread")) item.classList.remove("unread");
  setUnread(0);
}

// ---- live events ----

function setConnection(label) {
  $("connection").textContent = label;
  $("connection").dataset.state = label;
}

function subscribe(socket, topic, key) {
  const resume = state.lastOffsets[topic];
  socket.send(JSON.stringify({ type: "subscribe", topic, key, resume }));
}

function onEvent(message) {
  const offsets = (state.lastOffsets[message.topic] ??= {});
  offsets[message.partition] = message.offset;
  if (message.topic === POST_TOPIC) {
    const post = message.value;
    const followed = state.following.has(post.authorId);
    showPost(post, followed);
    if (followed) {
      showNotification(`New post by ${post.author}: ${post.title}`, true);
      setUnread(state.unread + 1);
    }
  } else if (message.topic === NOTIFICATION_TOPIC) {
    showNotification(`${message.value.actor} followed you`, true);
    setUnread(state.unread + 1);
  } else if (message.topic === BROADCAST_TOPIC) {
    $("broadcast").hidden = false;
    $("broadcast").textContent = `${message.value.sentBy}: ${message.value.message}`;
  }
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${window.location.host}/ws`, [
    "sluice.v1",
    `sluice.token.${state.session.token}`,
  ]);
  state.socket = socket;
  setConnection("connecting");
  socket.addEventListener("open", () => {
    state.reconnectDelayMs = RECONNECT_DELAY_MS_MIN;
    subscribe(socket, POST_TOPIC, null);
    subscribe(socket, BROADCAST_TOPIC, null);
    subscribe(socket, NOTIFICATION_TOPIC, state.session.user.id);
  });
  socket.addEventListener("message", (frame) => {
    const message = JSON.parse(frame.data);
    if (message.type === "subscribed" && message.topic === NOTIFICATION_TOPIC) setConnection("live");
    else if (message.type === "event") onEvent(message);
  });
  socket.addEventListener("close", (closed) => {
    if (state.socket !== socket || state.session === null) return;
    setConnection("offline");
    // A refused token means the session is over; anything else is worth reconnecting (and resuming) for.
    if (closed.code === 4001) return signOut();
    window.setTimeout(connect, state.reconnectDelayMs);
    state.reconnectDelayMs = Math.min(state.reconnectDelayMs * 2, RECONNECT_DELAY_MS_MAX);
  });
}

// ---- start ----

$("signup-form").addEventListener("submit", (event) =>
  submitWelcome(event, "api/auth/signup", {
    username: "signup-username",
    email: "signup-email",
    password: "signup-password",
  }),
);
$("login-form").addEventListener("submit", (event) =>
  submitWelcome(event, "api/auth/login", { username: "login-username", password: "login-password" }),
);
$("sign-out").addEventListener("click", signOut);
$("post-form").addEventListener("submit", submitPost);
$("profile-form").addEventListener("submit", (event) => {
  event.preventDefault();
  showProfile($("profile-username").value.trim());
});
$("follow-button").addEventListener("click", toggleFollow);
$("mark-read").addEventListener("click", markRead);

if (state.session !== null) {
  signedIn(state.session).catch(() => signOut());
}
