// The composer's suggestion list (quick replies after "/", colleagues after "@" in a note):
// one list at a time, chosen with the arrow keys and Enter (or Tab), or a click.
import { $, el } from "./dom.js";

let current = null; // { kind, items, index, choose }

export const suggesting = (kind) => current !== null && (kind === undefined || current.kind === kind);

export function hideSuggestions() {
  current = null;
  const list = $("#suggest");
  list.hidden = true;
  list.replaceChildren();
  $("#text").removeAttribute("aria-activedescendant");
}

function render() {
  const list = $("#suggest");
  list.replaceChildren(...current.items.map((item, i) => {
    const option = el("li", { id: `suggest-${i}`, role: "option", class: "suggestion", "aria-selected": String(i === current.index) }, ...current.render(item));
    // mousedown, not click: the textarea keeps its focus and caret.
    option.addEventListener("mousedown", (e) => { e.preventDefault(); choose(i); });
    return option;
  }));
  list.hidden = false;
  $("#text").setAttribute("aria-activedescendant", `suggest-${current.index}`);
  const selected = list.children[current.index];
  if (selected) selected.scrollIntoView({ block: "nearest" });
}

// items: what to offer; render(item) -> nodes of one row; choose(item) when picked.
export function showSuggestions(kind, items, { render: renderItem, choose: onChoose, empty }) {
  if (!items.length && !empty) { hideSuggestions(); return; }
  current = { kind, items, index: 0, render: renderItem, choose: onChoose };
  if (!items.length) {
    current = null;
    const list = $("#suggest");
    list.replaceChildren(el("li", { class: "suggestion empty-suggestion", text: empty }));
    list.hidden = false;
    return;
  }
  render();
}

function choose(index) {
  const { items, choose: onChoose } = current;
  hideSuggestions();
  onChoose(items[index]);
}

// The textarea's keydown while a list is open: true when the key was the list's.
export function suggestKey(event) {
  if (!current) {
    if (event.key === "Escape" && !$("#suggest").hidden) { hideSuggestions(); return true; }
    return false;
  }
  const n = current.items.length;
  if (event.key === "ArrowDown") current.index = (current.index + 1) % n;
  else if (event.key === "ArrowUp") current.index = (current.index - 1 + n) % n;
  else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") { event.preventDefault(); choose(current.index); return true; }
  else if (event.key === "Escape") hideSuggestions();
  else return false;
  event.preventDefault();
  if (current) render();
  return true;
}
