// Labels: chips on room rows and in the room header, the editor (a checkbox per label the
// server has, PUT /rooms/{id}/labels), and the room list's label filter (?label=).
import { $, el } from "./dom.js";
import { api } from "./api.js";
import { openRoomRow, state, upsertRoom } from "./state.js";
import { toast } from "./toasts.js";

// A label's colour is the supervisor's #rrggbb: set through the CSSOM (allowed by the
// page's CSP, unlike a style attribute), only when it is one.
function chip(label) {
  const node = el("span", { class: "chip", "data-label": label.name, title: label.name }, el("span", { class: "chip-dot" }), label.name);
  if (/^#[0-9a-fA-F]{6}$/.test(label.colour || "")) node.style.setProperty("--chip", label.colour);
  return node;
}

export function labelChips(labels, { cls = "labels" } = {}) {
  return el("span", { class: cls }, ...(labels || []).map(chip));
}

export function renderHeaderLabels(room) {
  $("#room-labels").replaceChildren(...(room.labels || []).map(chip));
}

export function renderLabelFilter() {
  const select = $("#label-filter");
  const current = state.label;
  select.replaceChildren(el("option", { value: "", text: "All labels" }),
    ...state.labels.map((l) => el("option", { value: l.name, text: l.name, selected: l.name === current })));
  // The filter stays on a label the server no longer lists until it is changed.
  if (current && !state.labels.some((l) => l.name === current)) select.append(el("option", { value: current, text: current, selected: true }));
  select.closest(".list-tools").hidden = !state.labels.length && !current;
}

async function refreshLabels() {
  try {
    state.labels = (await api("GET", "/rooms/labels")).results;
    renderLabelFilter();
  } catch (err) { /* the boot list stands */ }
}

function renderOptions(room) {
  const have = new Set((room.labels || []).map((l) => l.name));
  const box = $("#label-options");
  if (!state.labels.length) {
    box.replaceChildren(el("p", { class: "muted", text: "No labels yet. A supervisor defines them in Admin → Labels." }));
    return;
  }
  box.replaceChildren(el("legend", { class: "visually-hidden", text: "Labels" }), ...state.labels.map((label) => el("label", { class: "label-option" },
    el("input", { type: "checkbox", name: "label", value: label.name, checked: have.has(label.name) }), chip(label))));
}

// onChanged(row): the room's row as the server answered it.
export function wireLabels(onChanged) {
  const dialog = $("#label-dialog");
  $("#edit-labels").addEventListener("click", async () => {
    const room = openRoomRow();
    if (!room) return;
    $("#label-dialog-room").textContent = room.room_title || room.room_phone;
    $("#label-error").hidden = true;
    renderOptions(room);
    dialog.showModal();
    await refreshLabels();
    if (dialog.open && openRoomRow() === room) renderOptions(room);
  });
  // Each tick is saved at once: the room's labels become exactly the ticked ones.
  $("#label-options").addEventListener("change", async () => {
    const roomId = state.roomId;
    const names = [...document.querySelectorAll("#label-options input:checked")].map((i) => i.value);
    try {
      const row = await api("PUT", `/rooms/${roomId}/labels`, { labels: names });
      upsertRoom(row);
      $("#label-error").hidden = true;
      onChanged(row);
    } catch (err) {
      $("#label-error").textContent = err.message;
      $("#label-error").hidden = false;
      toast(err.message, "error");
    }
  });
  $("#label-filter").addEventListener("change", (e) => {
    state.label = e.target.value;
    onChanged(null, { reload: true });
  });
  renderLabelFilter();
}
