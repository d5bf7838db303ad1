// "@" in a private note: colleagues from the team list (state.team) to mention; the server
// decides who is notified (`mentions`, `not_notified` in its answer).
import { $, el } from "./dom.js";
import { me, state } from "./state.js";
import { hideSuggestions, showSuggestions, suggesting } from "./suggest.js";

// The "@word" being typed just before the caret, if any.
function mentionAtCaret() {
  const box = $("#text");
  const before = box.value.slice(0, box.selectionStart);
  const match = /(^|\s)@([\w.-]*)$/.exec(before);
  return match ? { query: match[2], start: before.length - match[2].length - 1, end: box.selectionStart } : null;
}

function choose(user, at) {
  const box = $("#text");
  const insert = `@${user.username} `;
  box.value = box.value.slice(0, at.start) + insert + box.value.slice(at.end);
  const caret = at.start + insert.length;
  box.focus();
  box.setSelectionRange(caret, caret);
  box.dispatchEvent(new Event("input"));
}

export function mentionInput() {
  const at = mentionAtCaret();
  if (!at) { if (suggesting("mention")) hideSuggestions(); return; }
  const q = at.query.toLowerCase();
  const people = [...state.team.values()]
    .filter((u) => u.id !== me.id && u.username && (u.username.toLowerCase().startsWith(q) || (u.name || "").toLowerCase().includes(q)))
    .slice(0, 8);
  showSuggestions("mention", people, {
    render: (u) => [
      el("span", { class: "presence", "data-user": u.id, "data-online": String(!!u.online) }),
      el("span", { class: "title", text: u.name }),
      el("span", { class: "shortcut", text: `@${u.username}` }),
      el("span", { class: "muted", text: u.role === "supervisor" ? "supervisor" : "" }),
    ],
    choose: (u) => choose(u, at),
  });
}
