// Conversation status: the header's buttons (Resolve, Pending, Snooze…, Reopen) and their
// keyboard shortcuts, the snooze dialog, the room list's status tabs and their counts.
// The server decides (POST /rooms/{id}/status answers the room row; GET /rooms/counts
// counts; a customer who writes reopens a room and the server says so in events).
import { $, el } from "./dom.js";
import { api } from "./api.js";
import { serverNow } from "./clock.js";
import { moment } from "./format.js";
import { openRoomRow, state, upsertRoom } from "./state.js";
import { toast } from "./toasts.js";

// Whether this server has conversation status: its room rows carry `status`.
export const statusKnown = () => [...state.rooms.values()].some((room) => "status" in room);

export const STATUS_LABELS = { open: "Open", pending: "Pending", snoozed: "Snoozed", resolved: "Resolved" };
const DONE = { open: "Reopened", pending: "Marked pending", snoozed: "Snoozed", resolved: "Resolved" };

let changed = () => {};

export function statusText(room) {
  if (room.status === "snoozed" && room.snoozed_until) return `Snoozed until ${moment(room.snoozed_until)}`;
  return STATUS_LABELS[room.status] || "";
}

// Which buttons the room's status offers.
const OFFERS = {
  open: ["resolved", "pending", "snooze"],
  pending: ["resolved", "snooze", "open"],
  snoozed: ["resolved", "open"],
  resolved: ["open"],
};

export function renderStatusActions(room) {
  const group = $(".status-actions");
  const known = Boolean(room && room.status in OFFERS);
  group.dataset.known = String(known);
  if (!known) return;
  const chip = $("#room-status");
  chip.dataset.status = room.status;
  chip.textContent = statusText(room);
  const offers = OFFERS[room.status];
  $("#status-resolve").hidden = !offers.includes("resolved");
  $("#status-pending").hidden = !offers.includes("pending");
  $("#status-snooze").hidden = !offers.includes("snooze");
  $("#status-reopen").hidden = !offers.includes("open");
}

export async function setStatus(status, until) {
  const room = openRoomRow();
  if (!room) return;
  const body = until ? { status, until } : { status };
  try {
    const row = await api("POST", `/rooms/${room.room_id}/status`, body);
    upsertRoom(row);
    toast(status === "snoozed" && row.snoozed_until ? `Snoozed until ${moment(row.snoozed_until)}` : DONE[status] || "Saved");
    changed(row);
    refreshCounts();
    return row;
  } catch (err) {
    toast(err.message, "error");
    throw err;
  }
}

// --- snooze -------------------------------------------------------------------------------
// Presets are times of the agent's own day, counted from the server's clock.
function preset(name) {
  const now = new Date(serverNow());
  if (name === "1h") return new Date(now.getTime() + 60 * 60 * 1000);
  if (name === "3h") return new Date(now.getTime() + 3 * 60 * 60 * 1000);
  const at = new Date(now);
  at.setHours(9, 0, 0, 0);
  if (name === "tomorrow9") at.setDate(at.getDate() + 1);
  if (name === "monday9") at.setDate(at.getDate() + (((8 - at.getDay()) % 7) || 7));
  return at;
}

const localInputValue = (d) => {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

export function openSnooze() {
  if (!openRoomRow() || $("#status-snooze").hidden) return;
  const input = $("#snooze-until");
  input.value = localInputValue(preset("tomorrow9"));
  $("#snooze-error").hidden = true;
  $("#snooze-dialog").showModal();
}

async function snoozeUntil(date) {
  if (!date || Number.isNaN(date.getTime())) {
    $("#snooze-error").textContent = "Choose a date and time.";
    $("#snooze-error").hidden = false;
    return;
  }
  try {
    await setStatus("snoozed", date.toISOString());
    $("#snooze-dialog").close();
  } catch (err) {
    $("#snooze-error").textContent = err.message;
    $("#snooze-error").hidden = false;
  }
}

// --- counts and tabs ----------------------------------------------------------------------
let countsTimer = null;
let countsSeq = 0;

function renderCounts(counts) {
  for (const tab of document.querySelectorAll(".status-tabs button")) {
    const count = $(".count", tab);
    if (!count) continue;
    const n = counts ? counts[tab.dataset.status] : undefined;
    count.dataset.count = n === undefined ? "" : String(n);
    count.textContent = n === undefined ? "" : n > 999 ? "999+" : String(n);
  }
}

// The server's counts for the list's view (Inbox/Mine/Unassigned), soon after a change.
export function refreshCounts() {
  clearTimeout(countsTimer);
  $(".status-tabs").hidden = !statusKnown();
  if (!statusKnown()) return;
  countsTimer = setTimeout(async () => {
    const seq = ++countsSeq;
    const view = state.filter === "unread" ? "all" : state.filter;
    try {
      const counts = await api("GET", `/rooms/counts?filter=${encodeURIComponent(view)}`);
      if (seq === countsSeq) renderCounts(counts);
    } catch (err) { /* counts are shown when the server answers */ }
  }, 150);
}

export function renderStatusTabs() {
  for (const b of document.querySelectorAll(".status-tabs button")) b.setAttribute("aria-selected", String(b.dataset.status === state.status));
}

// --- shortcuts ----------------------------------------------------------------------------
const typingIn = (target) => target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));

function shortcut(event) {
  if (document.querySelector("dialog[open]")) return;
  if (event.altKey && !event.ctrlKey && !event.metaKey) {
    // By key position (e.code): Alt+letter types other characters on some layouts.
    const actions = {
      KeyR: () => !$("#status-resolve").hidden && setStatus("resolved").catch(() => {}),
      KeyP: () => !$("#status-pending").hidden && setStatus("pending").catch(() => {}),
      KeyO: () => !$("#status-reopen").hidden && setStatus("open").catch(() => {}),
      KeyS: () => openSnooze(),
      KeyN: () => document.querySelector(`.compose-mode button[data-mode="${state.composeMode === "note" ? "reply" : "note"}"]`).click(),
    };
    const action = actions[event.code];
    if (!action || !state.roomId || $("#room-view").hidden) return;
    event.preventDefault();
    action();
    return;
  }
  if (event.key === "?" && !typingIn(event.target)) {
    event.preventDefault();
    $("#shortcuts-dialog").showModal();
  }
}

// onChanged(row | null, {reload}): a room's status changed here, or the tab changed.
export function wireStatus(onChanged) {
  changed = (row) => onChanged(row);
  for (const button of document.querySelectorAll("[data-set-status]")) {
    button.addEventListener("click", () => setStatus(button.dataset.setStatus).catch(() => {}));
  }
  $("#status-snooze").addEventListener("click", openSnooze);
  for (const button of document.querySelectorAll("#snooze-dialog [data-preset]")) {
    button.addEventListener("click", () => snoozeUntil(preset(button.dataset.preset)));
  }
  $("#snooze-custom").addEventListener("click", () => snoozeUntil($("#snooze-until").value ? new Date($("#snooze-until").value) : null));
  $("#shortcuts-help").addEventListener("click", () => $("#shortcuts-dialog").showModal());
  for (const tab of document.querySelectorAll(".status-tabs button")) {
    tab.addEventListener("click", () => {
      state.status = tab.dataset.status;
      renderStatusTabs();
      onChanged(null, { reload: true });
    });
  }
  document.addEventListener("keydown", shortcut);
  renderStatusTabs();
}

export const statusChip = (room) => (room.status && room.status !== "open"
  ? el("span", { class: "row-status", "data-status": room.status, text: statusText(room) })
  : null);
