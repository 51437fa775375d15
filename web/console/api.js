/* global TextDecoderStream, fetch, localStorage */
// The console's calls to its server: JSON in and out, the signed-in user's token on every call, and errors carrying
// the server's code, message and field so views can say what went wrong.

const TOKEN_KEY = "sluice-console-token";
export const BASE = "/console";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = body?.error ?? "SLUICE_HTTP_" + status;
    this.field = body?.field;
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value === null) localStorage.removeItem(TOKEN_KEY);
  else localStorage.setItem(TOKEN_KEY, value);
}

export async function call(method, path, body, { signal, root = false } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const current = token();
  if (current !== null) headers.authorization = `Bearer ${current}`;
  const response = await fetch(root ? path : `${BASE}/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const text = await response.text();
  const parsed = text === "" ? null : JSON.parse(text);
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

export const get = (path, options) => call("GET", path, undefined, options);
export const post = (path, body, options) => call("POST", path, body, options);
export const patch = (path, body) => call("PATCH", path, body);
export const put = (path, body) => call("PUT", path, body);
export const del = (path) => call("DELETE", path);

/**
 * Reads a stream of server-sent events (fetch rather than EventSource, so the token travels in a header); calls
 * onEvent(name, data) for each until the stream ends or `signal` aborts it.
 */
export async function streamEvents(path, onEvent, { signal } = {}) {
  const headers = { accept: "text/event-stream" };
  const current = token();
  if (current !== null) headers.authorization = `Bearer ${current}`;
  const response = await fetch(`${BASE}/api${path}`, { headers, signal });
  if (!response.ok) {
    const text = await response.text();
    throw new ApiError(response.status, text === "" ? null : JSON.parse(text));
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    pending += value;
    let end;
    while ((end = pending.indexOf("\n\n")) >= 0) {
      const block = pending.slice(0, end);
      pending = pending.slice(end + 2);
      let name = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data !== "") onEvent(name, JSON.parse(data));
    }
  }
}
