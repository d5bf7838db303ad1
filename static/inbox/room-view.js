// One room: opening it, its header (title, contact, the 24-hour window as the server
// says), marking it read.
import { $, setView } from "./dom.js";
import { api } from "./api.js";
import { msUntil } from "./clock.js";
import { contactLine, moment } from "./format.js";
import { openRoomRow, state, upsertRoom } from "./state.js";
import { clearReply, showWindow } from "./composer.js";
import { renderHeaderLabels } from "./labels.js";
import { renderStatusActions } from "./status.js";
import { renderLeadPanel } from "./lead-panel.js";
import { loadMessages } from "./messages.js";
import { refreshRoomRow, renderRoomList } from "./room-list.js";
import { joinRoom } from "./socket.js";

export async function openRoom(roomId) {
  if (!roomId) return;
  state.roomId = roomId;
  clearReply();
  $("#room-empty").hidden = true;
  $("#room-view").hidden = false;
  setView("room");
  if (location.pathname !== `/inbox/${roomId}`) history.replaceState(null, "", `/inbox/${roomId}`);
  if (!state.rooms.has(roomId)) upsertRoom(await api("GET", `/rooms/${roomId}`));
  renderRoomHeader();
  renderLeadPanel();
  if (!(await loadMessages(roomId))) return;
  joinRoom(roomId);
  markRead();
  renderRoomList();
  $("#text").focus();
}

export function closeRoom() {
  setView("list");
  state.roomId = null;
  history.replaceState(null, "", "/inbox/");
  scheduleWindowCheck(null);
  renderRoomList();
}

// The window closes at the time the server said (by the server's clock): then the page
// asks the server again, which decides (a new customer message may have reopened it).
// An hour before it closes, the header warns: the page redraws it then (timed by the
// server's clock, at the server's closing time).
const LAST_HOUR = 60 * 60 * 1000;
let windowTimer = null;
let warnTimer = null;
const closingSoon = (room) => Boolean(room.window_open && room.window_closes_at && msUntil(room.window_closes_at) <= LAST_HOUR);
function scheduleWindowCheck(room) {
  clearTimeout(windowTimer);
  clearTimeout(warnTimer);
  windowTimer = null;
  warnTimer = null;
  if (!room || !room.window_open || !room.window_closes_at) return;
  const roomId = room.room_id;
  if (!closingSoon(room)) {
    const untilWarning = Math.min(Math.max(msUntil(room.window_closes_at) - LAST_HOUR + 500, 500), 2 ** 31 - 1);
    warnTimer = setTimeout(() => { if (roomId === state.roomId) renderRoomHeader(); }, untilWarning);
  }
  const wait = Math.min(Math.max(msUntil(room.window_closes_at) + 1000, 1000), 2 ** 31 - 1);
  windowTimer = setTimeout(() => {
    refreshRoomRow(roomId).then(() => { if (roomId === state.roomId) renderRoomHeader(); }).catch(() => {});
  }, wait);
}

function windowLine(room) {
  const closes = room.window_closes_at;
  if (!closes) return "The customer has not written yet: only a template";
  if (closingSoon(room)) return `⚠ Window closes at ${moment(closes)}: under an hour left for free-form replies`;
  return room.window_open ? `Free-form replies until ${moment(closes)}` : `Window closed ${moment(closes)}: only a template`;
}

export function renderRoomHeader() {
  const room = openRoomRow();
  if (!room) return;
  $("#room-title").textContent = room.room_title || room.room_phone;
  $("#room-phone").textContent = contactLine(room);
  const status = $("#window-status");
  status.textContent = windowLine(room);
  status.dataset.open = String(Boolean(room.window_open));
  status.dataset.closingSoon = String(closingSoon(room));
  renderHeaderLabels(room);
  renderStatusActions(room);
  if (room.window_closes_at) status.setAttribute("datetime", room.window_closes_at);
  else status.removeAttribute("datetime");
  showWindow(room);
  scheduleWindowCheck(room);
}

export async function markRead() {
  const room = openRoomRow();
  if (!room) return;
  room.unread_count = 0;
  renderRoomList();
  try { await api("POST", "/messages/mark-read", { room_id: state.roomId }); } catch (e) { /* shown on next load */ }
}
