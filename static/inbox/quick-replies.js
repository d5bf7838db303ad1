// Quick replies in the composer: "/" at the start opens the list (GET /quick-replies/?q=),
// choosing one inserts its text as the server rendered it for this room (GET
// /quick-replies/{id}/render?room_id=). Placeholders the server could not fill (`missing`)
// stay in the text, selected one after the other (Tab jumps to the next) with a hint
// naming them; the server refuses a send that still holds one (unfilled_placeholder).
import { $, el } from "./dom.js";
import { api } from "./api.js";
import { state } from "./state.js";
import { hideSuggestions, showSuggestions, suggesting } from "./suggest.js";
import { toast } from "./toasts.js";

let missing = []; // the placeholder names the server left for the agent to fill
let searchTimer = null;
let searchSeq = 0;

const escape = (name) => name.replace(/[-/\\^$*+?.()|[\]{}]/g, "\\$&");
const placeholderPattern = (name) => new RegExp(`\\{\\{\\s*${escape(name)}\\s*\\}\\}`, "gi");

function textarea() { return $("#text"); }

// Where the placeholders still in the text are: [{ name, start, end }], in text order.
function openSpots() {
  const text = textarea().value;
  const spots = [];
  for (const name of missing) {
    for (const match of text.matchAll(placeholderPattern(name))) spots.push({ name, start: match.index, end: match.index + match[0].length });
  }
  return spots.sort((a, b) => a.start - b.start);
}

export function renderFillHint() {
  const hint = $("#fill-hint");
  const spots = openSpots();
  if (!spots.length) { missing = []; hint.hidden = true; hint.replaceChildren(); return; }
  const names = [...new Set(spots.map((s) => s.name))];
  hint.replaceChildren("Fill in: ", ...names.flatMap((n, i) => [i ? ", " : "", el("mark", { text: n })]), el("span", { class: "muted", text: " · Tab jumps to the next" }));
  hint.hidden = false;
}

// Select the next placeholder after the caret (wrapping round): true if there was one.
export function selectNextPlaceholder({ fromStart = false } = {}) {
  const spots = openSpots();
  if (!spots.length) return false;
  const box = textarea();
  const from = fromStart ? -1 : box.selectionEnd - 1;
  const next = spots.find((s) => s.start > from) || spots[0];
  box.focus();
  box.setSelectionRange(next.start, next.end);
  return true;
}

// The server refused a send for these placeholders: show them to fill.
export function showUnfilled(names) {
  missing = [...new Set([...(names || []), ...missing])];
  renderFillHint();
  selectNextPlaceholder({ fromStart: true });
}

export function clearQuickReply() {
  missing = [];
  renderFillHint();
  if (suggesting("quick-reply")) hideSuggestions();
}

async function insert(reply) {
  const roomId = state.roomId;
  try {
    const rendered = await api("GET", `/quick-replies/${reply.id}/render?room_id=${encodeURIComponent(roomId)}`);
    if (roomId !== state.roomId) return;
    const box = textarea();
    box.value = rendered.text;
    missing = rendered.missing || [];
    box.dispatchEvent(new Event("input")); // autosize, typing
    renderFillHint();
    if (!selectNextPlaceholder({ fromStart: true })) { box.focus(); box.setSelectionRange(box.value.length, box.value.length); }
  } catch (err) { toast(err.message, "error"); }
}

const row = (reply) => [
  el("span", { class: "shortcut", text: `/${reply.shortcut}` }),
  el("span", { class: "title", text: reply.title || "" }),
  el("span", { class: "snippet muted", text: reply.text }),
];

async function search(query) {
  const seq = ++searchSeq;
  try {
    const page = await api("GET", `/quick-replies/?${new URLSearchParams({ q: query, limit: "8" })}`);
    // Only the answer to what is typed now (an older, slower answer is dropped).
    if (seq !== searchSeq || !/^\/\S*$/.test(textarea().value)) return;
    showSuggestions("quick-reply", page.results, { render: row, choose: insert, empty: `No quick reply matches “${query}”` });
  } catch (err) { toast(err.message, "error"); }
}

// The composer's text changed (reply mode): "/word" as the whole text searches.
export function quickReplyInput() {
  renderFillHint();
  const match = /^\/(\S*)$/.exec(textarea().value);
  clearTimeout(searchTimer);
  if (!match) {
    searchSeq += 1;
    if (suggesting("quick-reply") || !$("#suggest").hidden) hideSuggestions();
    return;
  }
  searchTimer = setTimeout(() => search(match[1]), 120);
}

// Tab with placeholders left: the next one (else Tab moves the focus as usual).
export function quickReplyKey(event) {
  if (event.key === "Tab" && !event.shiftKey && missing.length && selectNextPlaceholder()) {
    event.preventDefault();
    return true;
  }
  return false;
}
