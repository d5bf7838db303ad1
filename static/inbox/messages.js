// The open room's timeline: messages, private notes and activity lines merged by time;
// rendering, older pages, reactions, retry and forward.
import { $, el } from "./dom.js";
import { api } from "./api.js";
import { dayFmt, dayKey, size, timeFmt } from "./format.js";
import { me, state } from "./state.js";
import { toast } from "./toasts.js";

const byWamid = () => new Map(state.messages.filter((m) => m.wa_message_id).map((m) => [m.wa_message_id, m]));

function reactionsFor(wamid) {
  const latest = new Map();
  for (const m of state.messages) {
    if (m.content_type === "reaction" && m.reaction_to_wa_message_id === wamid) latest.set(m.user_id || "customer", m.reaction_emoji);
  }
  return [...latest.values()].filter(Boolean).join("");
}

const TICKS = { pending: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "⚠" };

function renderMedia(m) {
  const meta = m.metadata || {};
  if (!m.gcs_url) {
    if (meta.media_status === "failed") return el("div", { class: "media-pending", text: `Media could not be downloaded (${meta.media_error || "error"}).` });
    return el("div", { class: "media-pending", text: "Downloading media…" });
  }
  const url = m.gcs_url;
  // The server decides what may be shown inline; anything else (documents, and any
  // type a customer claims) is only ever offered as a download, never opened as a page.
  if (!m.media_inline) {
    const label = m.original_filename || `${m.media_type[0].toUpperCase()}${m.media_type.slice(1)} (${m.mime_type || "unknown type"})`;
    return el("a", { class: "doc download", href: url, download: m.original_filename || true }, "📄", el("span", { text: `${label} · ${size(m.file_size)} · download` }));
  }
  if (m.media_type === "image") return el("a", { href: url, target: "_blank", rel: "noopener" }, el("img", { class: "media", src: url, alt: m.content_text || "Image", loading: "lazy" }));
  if (m.media_type === "sticker") return el("img", { class: "media sticker", src: url, alt: "Sticker", loading: "lazy" });
  if (m.media_type === "audio") return el("audio", { controls: true, src: url, preload: "none" });
  if (m.media_type === "video") return el("video", { controls: true, src: url, preload: "metadata" });
  return el("a", { class: "doc", href: url, target: "_blank", rel: "noopener" }, "📄", el("span", { text: `${m.original_filename || "Document"} · ${size(m.file_size)}` }));
}

function renderBody(m) {
  const meta = m.metadata || {};
  const parts = [];
  if (m.media_type) {
    parts.push(renderMedia(m));
    if (meta.caption) parts.push(el("div", { class: "text", text: meta.caption }));
    return parts;
  }
  if (m.content_type === "location" && meta.location) {
    const { latitude, longitude, name, address } = meta.location;
    parts.push(el("a", { href: `https://www.google.com/maps?q=${latitude},${longitude}`, target: "_blank", rel: "noopener" }, `📍 ${[name, address].filter(Boolean).join(", ") || `${latitude}, ${longitude}`}`));
    return parts;
  }
  if (m.content_type === "contacts" && meta.contacts) {
    for (const card of meta.contacts) {
      const phones = (card.phones || []).map((p) => p.phone).join(", ");
      parts.push(el("div", { class: "doc" }, "👤", el("span", { text: `${(card.name || {}).formatted_name || "Contact"} ${phones}` })));
    }
    return parts;
  }
  parts.push(el("div", { class: "text", text: m.content_text || `(${m.content_type})` }));
  return parts;
}

// Replying is the composer's business: it hears this event.
const askReply = (m) => document.dispatchEvent(new CustomEvent("boztell:reply", { detail: m }));

function renderMessage(m, wamids) {
  if (m.content_type === "reaction") return null;
  const mine = m.user_id !== null;
  const author = mine ? (state.team.get(m.user_id) || {}).name || "Agent" : null;
  const node = el("div", { class: `msg ${mine ? "mine" : ""} ${m.content_type === "system" ? "system" : ""}`, "data-id": m.id, "data-wamid": m.wa_message_id || "" });
  if (author) node.append(el("div", { class: "author", text: author }));
  if (m.reply_to_wa_message_id) {
    const quoted = wamids.get(m.reply_to_wa_message_id);
    node.append(el("div", { class: "quote", text: quoted ? quoted.content_text || quoted.content_type : "A previous message" }));
  }
  if ((m.metadata || {}).forwarded) node.append(el("div", { class: "author muted", text: "↪ Forwarded" }));
  node.append(...renderBody(m));
  const meta = el("div", { class: "meta" }, el("time", { datetime: m.created_at, text: timeFmt.format(new Date(m.created_at)) }));
  if (mine) meta.append(el("span", { class: "tick", "data-status": m.status, title: m.status, text: TICKS[m.status] || "" }));
  node.append(meta);
  if (mine && m.status === "failed") {
    const error = (m.metadata || {}).error || {};
    node.append(el("div", { class: "failed-reason" }, `Not sent: ${error.message || error.title || "WhatsApp refused it"} `,
      el("button", { class: "small primary retry", type: "button", onclick: () => retry(m.id) }, "Retry")));
  }
  const reactions = m.wa_message_id ? reactionsFor(m.wa_message_id) : "";
  if (reactions) {
    node.classList.add("has-reactions");
    node.append(el("span", { class: "reactions", text: reactions }));
  }
  const actions = el("div", { class: "actions" },
    el("button", { type: "button", title: "Reply", "aria-label": "Reply", onclick: () => askReply(m) }, "↩"),
    ...["👍", "❤️", "🙏"].map((emoji) => el("button", { type: "button", title: `React ${emoji}`, "aria-label": `React ${emoji}`, onclick: () => react(m, emoji) }, emoji)),
    el("button", { type: "button", title: "Forward", "aria-label": "Forward", onclick: () => forward(m) }, "↪"));
  if (m.wa_message_id) node.append(actions);
  return node;
}

// Each stream (messages, notes, …) is loaded back to its own oldest item; the timeline shows
// everything down to the newest of those points, so a stream with older pages left never
// leaves a gap among the others (scrolling up loads the older pages of every stream).
const STREAM_PATHS = {
  notes: (roomId) => `/rooms/${roomId}/notes`,
  // A server without conversation status (rows with no `status`) has no activity stream.
  activity: (roomId) => ("status" in (state.rooms.get(roomId) || {}) ? `/rooms/${roomId}/activity` : null),
};
const at = (x) => Date.parse(x.created_at);

function timeline() {
  let floor = -Infinity;
  const consider = (items, cursor) => { if (cursor && items.length) floor = Math.max(floor, at(items[0])); };
  consider(state.messages, state.olderCursor);
  const entries = state.messages.map((m) => ({ kind: "message", item: m }));
  for (const [kind, stream] of Object.entries(state.streams)) {
    consider(stream.items, stream.cursor);
    for (const item of stream.items) entries.push({ kind, item });
  }
  return entries
    .filter((e) => at(e.item) >= floor)
    .map((e, i) => ({ ...e, i }))
    .sort((a, b) => at(a.item) - at(b.item) || a.i - b.i);
}

const hasOlder = () => Boolean(state.olderCursor) || Object.values(state.streams).some((s) => s.cursor);

// "@name" in a note's plain text: the people it notified stand out.
function noteText(note) {
  const notified = new Set((note.mentions || []).map((u) => u.username.toLowerCase()));
  return note.text.split(/(@[\w.-]+)/).map((part) => (
    part.startsWith("@") && notified.has(part.slice(1).toLowerCase()) ? el("span", { class: "mention", text: part }) : part
  ));
}

function renderNote(note) {
  return el("div", { class: "note", "data-note-id": note.id, role: "note", "aria-label": "Private note" },
    el("div", { class: "note-head" },
      el("span", { class: "note-tag", text: "🔒 Private note" }),
      el("span", { class: "note-author", text: (note.author || {}).display_name || "Agent" })),
    el("div", { class: "text" }, ...noteText(note)),
    el("div", { class: "meta" }, el("time", { datetime: note.created_at, text: timeFmt.format(new Date(note.created_at)) })));
}

function renderActivity(line) {
  return el("div", { class: "activity", "data-activity-id": String(line.id), "data-kind": line.kind },
    el("span", {}, line.text, " · ", el("time", { datetime: line.created_at, text: timeFmt.format(new Date(line.created_at)) })));
}

export function renderMessages({ scroll = "keep" } = {}) {
  const box = $("#messages");
  const before = box.scrollHeight - box.scrollTop;
  const wamids = byWamid();
  box.replaceChildren();
  if (hasOlder()) box.append(el("p", { class: "empty", text: "Scroll up for older messages" }));
  let lastDay = null;
  let shown = 0;
  for (const { kind, item } of timeline()) {
    if (kind === "message" && item.content_type === "reaction") continue;
    const day = dayKey(new Date(item.created_at));
    if (day !== lastDay) {
      box.append(el("div", { class: "day" }, el("span", { text: dayFmt.format(new Date(item.created_at)) })));
      lastDay = day;
    }
    const node = kind === "message" ? renderMessage(item, wamids) : kind === "notes" ? renderNote(item) : renderActivity(item);
    if (node) { box.append(node); shown += 1; }
  }
  if (!shown) box.append(el("p", { class: "empty", text: "No messages yet." }));
  if (scroll === "bottom") box.scrollTop = box.scrollHeight;
  else box.scrollTop = box.scrollHeight - before;
}

function nearBottom() {
  const box = $("#messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
}

const emptyStreams = () => Object.fromEntries(Object.keys(STREAM_PATHS).map((k) => [k, { items: [], cursor: null }]));

// A stream's newest page; a stream the server does not answer stays empty (the messages
// still show).
async function streamPage(kind, roomId, before) {
  const query = before ? `?before=${encodeURIComponent(before)}` : "";
  const path = STREAM_PATHS[kind](roomId);
  if (!path) return { results: [], older_cursor: null };
  try { return await api("GET", `${path}${query}`); } catch (err) { return { results: [], older_cursor: null }; }
}

function mergeById(older, newer) {
  const known = new Map(older.map((x) => [x.id, x]));
  for (const x of newer) known.set(x.id, { ...(known.get(x.id) || {}), ...x });
  return [...known.values()].sort((a, b) => at(a) - at(b));
}

// The open room's newest page of messages and of each other stream (a new room opened).
export async function loadMessages(roomId) {
  $("#messages").replaceChildren(el("p", { class: "empty", text: "Loading messages…" }));
  // What arrives live for this room while its pages load (a message, a note, an activity
  // line) lands in fresh lists and is merged with the pages below, never overwritten by
  // them: a page the server answered just before that change would not hold it.
  state.messages = [];
  state.olderCursor = null;
  state.streams = emptyStreams();
  const kinds = Object.keys(STREAM_PATHS);
  const [page, ...pages] = await Promise.all([api("GET", `/rooms/${roomId}/messages`), ...kinds.map((k) => streamPage(k, roomId))]);
  if (state.roomId !== roomId) return false;
  state.messages = mergeById(page.results, state.messages);
  state.olderCursor = page.older_cursor;
  kinds.forEach((k, i) => {
    state.streams[k] = { items: mergeById(pages[i].results, state.streams[k].items), cursor: pages[i].older_cursor };
  });
  renderMessages({ scroll: "bottom" });
  return true;
}

export async function loadOlder() {
  if (!hasOlder() || state.loadingOlder) return;
  state.loadingOlder = true;
  const roomId = state.roomId;
  try {
    const kinds = Object.keys(state.streams).filter((k) => state.streams[k].cursor);
    const [page, ...pages] = await Promise.all([
      state.olderCursor ? api("GET", `/rooms/${roomId}/messages?before=${encodeURIComponent(state.olderCursor)}`) : null,
      ...kinds.map((k) => streamPage(k, roomId, state.streams[k].cursor)),
    ]);
    if (roomId !== state.roomId) return;
    if (page) {
      state.messages = [...page.results, ...state.messages];
      state.olderCursor = page.older_cursor;
    }
    kinds.forEach((k, i) => {
      const stream = state.streams[k];
      state.streams[k] = { items: mergeById(pages[i].results, stream.items), cursor: pages[i].older_cursor };
    });
    renderMessages({ scroll: "keep" });
  } finally {
    state.loadingOlder = false;
  }
}

export function addMessage(m) {
  const index = state.messages.findIndex((x) => x.id === m.id);
  if (index >= 0) state.messages[index] = { ...state.messages[index], ...m };
  else state.messages.push(m);
  const stick = nearBottom() || m.user_id === me.id;
  renderMessages({ scroll: stick ? "bottom" : "keep" });
}

// A private note or an activity line of the open room (live event or own action).
function addToStream(kind, item, mine) {
  const stream = state.streams[kind];
  if (!stream) return;
  const stick = nearBottom() || mine;
  stream.items = mergeById(stream.items, [item]);
  renderMessages({ scroll: stick ? "bottom" : "keep" });
}

export const addNote = (note) => addToStream("notes", note, (note.author || {}).user_id === me.id);
export const addActivity = (line) => addToStream("activity", line, line.actor_id === me.id);

// The open room's newest messages (and other streams) again, merged into what is shown
// (after a reconnect, a merge, or a send whose outcome is unknown).
export async function refreshOpenRoom() {
  if (!state.roomId) return;
  const roomId = state.roomId;
  const last = state.messages[state.messages.length - 1];
  const kinds = Object.keys(state.streams);
  const [page, ...pages] = await Promise.all([api("GET", `/rooms/${roomId}/messages`), ...kinds.map((k) => streamPage(k, roomId))]);
  if (roomId !== state.roomId) return;
  state.messages = mergeById(state.messages, page.results);
  kinds.forEach((k, i) => { state.streams[k].items = mergeById(state.streams[k].items, pages[i].results); });
  renderMessages({ scroll: last ? "keep" : "bottom" });
}

async function retry(messageId) {
  try {
    addMessage(await api("POST", `/messages/${messageId}/retry`, {}));
    toast("Sent again");
  } catch (err) { toast(err.message, "error"); }
}

async function react(m, emoji) {
  try {
    const current = state.messages.filter((x) => x.content_type === "reaction" && x.user_id === me.id && x.reaction_to_wa_message_id === m.wa_message_id).pop();
    const next = current && current.reaction_emoji === emoji ? "" : emoji;
    addMessage(await api("POST", "/messages/react", { message_id: m.id, emoji: next }));
  } catch (err) { toast(err.message, "error"); }
}

async function forward(m) {
  const to = window.prompt("Forward to which number?");
  if (!to) return;
  try {
    await api("POST", `/messages/${m.id}/forward`, { to });
    toast("Forwarded");
  } catch (err) { toast(err.message, "error"); }
}
