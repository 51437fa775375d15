// GET /view for browsers: the stored messages as a plain HTML page that needs no JavaScript, each message shown in
// its own template's design.

import type { MessagePage } from "./messages-sql.js";

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

export interface ViewPageOptions {
  page: MessagePage;
  /** The page's own design, from `?template=`; each message keeps its own. */
  template: string;
  /** The size of the page, kept in the link to the next one. */
  limit: number;
  /** Set after GET /save redirected here, to say the message was accepted. */
  acceptedId: string | null;
}

export function renderViewPage(options: ViewPageOptions): string {
  const { page, template, limit, acceptedId } = options;
  const items = page.messages.map((message) => {
    const author = message.author === null ? "anonymous" : escapeHtml(message.author);
    return [
      `<li class="message" data-template="${escapeHtml(message.template)}" data-id="${escapeHtml(message.id)}">`,
      `<p class="message-text">${escapeHtml(message.text)}</p>`,
      `<p class="message-meta"><span class="message-author">${author}</span> · `,
      `<time datetime="${escapeHtml(message.storedAt)}">${escapeHtml(message.storedAt)}</time></p>`,
      "</li>",
    ].join("");
  });
  const accepted =
    acceptedId === null
      ? ""
      : `<p class="notice">Message <code>${escapeHtml(acceptedId)}</code> accepted; it appears here once the worker ` +
        "has stored it (reload in a moment).</p>";
  const next =
    page.nextCursor === null
      ? ""
      : `<p><a href="/view?before=${encodeURIComponent(page.nextCursor)}&amp;limit=${limit}` +
        `&amp;template=${encodeURIComponent(template)}">Older messages</a></p>`;
  const empty = page.messages.length === 0 ? `<p class="empty">No messages yet.</p>` : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Messages · Sluice</title>
<link rel="stylesheet" href="/messages/board.css">
</head>
<body data-template="${escapeHtml(template)}">
<header class="board-header"><h1>Messages</h1><p class="tagline"><a href="/">Open the live board</a></p></header>
<main>
${accepted}${empty}<ol class="messages">${items.join("\n")}</ol>
${next}</main>
</body>
</html>
`;
}

/** What a browser sees at /view or /save when the board requires signing in and it has not: a way to sign in. */
export function renderSignInRequiredPage(template: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Messages · Sluice</title>
<link rel="stylesheet" href="/messages/board.css">
</head>
<body data-template="${escapeHtml(template)}">
<header class="board-header"><h1>Messages</h1></header>
<main>
<p class="notice" id="sign-in-required">This board is for signed-in users. <a href="/">Sign in on the board</a> to read
and post messages.</p>
</main>
</body>
</html>
`;
}
