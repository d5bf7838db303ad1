// Boztell inbox: one page, kept live by the WebSocket; actions go through the REST API.
// Native ES modules, one per concern (no build step): state, api, socket, room-list,
// room-view, messages, composer, lead-panel, toasts, format, clock; events.js applies
// each live event. The server decides every rule (window, filters, unread): see
// docs/socket-events.md.
import { $, setView } from "./dom.js";
import { syncClock } from "./clock.js";
import { boot, state, upsertRoom } from "./state.js";
import { wireComposer } from "./composer.js";
import { wireLabels } from "./labels.js";
import { refreshCounts, wireStatus } from "./status.js";
import { applyEvent, roomLost } from "./events.js";
import { loadOlder, refreshOpenRoom } from "./messages.js";
import { reloadRooms, renderRoomList } from "./room-list.js";
import { closeRoom, markRead, openRoom, renderRoomHeader } from "./room-view.js";
import { connect } from "./socket.js";
import { toast } from "./toasts.js";

syncClock(boot.server_time);
wireComposer();

const list = $("#room-list");
const rowOf = (event) => event.target.closest(".room-row");
list.addEventListener("click", (e) => { const row = rowOf(e); if (row) openRoom(row.dataset.roomId); });
list.addEventListener("keydown", (e) => { const row = rowOf(e); if (row && e.key === "Enter") openRoom(row.dataset.roomId); });

$("#back").addEventListener("click", closeRoom);
$("#toggle-lead").addEventListener("click", () => setView($("#app").dataset.view === "lead" ? "room" : "lead"));
$("#messages").addEventListener("scroll", () => { if ($("#messages").scrollTop < 80) loadOlder(); });
for (const button of document.querySelectorAll(".filters button")) {
  button.addEventListener("click", () => {
    state.filter = button.dataset.filter;
    for (const b of document.querySelectorAll(".filters button")) b.setAttribute("aria-selected", String(b === button));
    reloadRooms().catch((err) => toast(err.message, "error"));
    refreshCounts();
  });
}
// A label ticked in the editor (the room's row as the server answered) or the label
// filter changed (the list again from the server).
wireLabels((row, { reload = false } = {}) => {
  if (reload) { reloadRooms().catch((err) => toast(err.message, "error")); return; }
  renderRoomList();
  if (row && row.room_id === state.roomId) renderRoomHeader();
});
// A status set here (the room's row as the server answered) or a status tab chosen.
wireStatus((row, { reload = false } = {}) => {
  if (reload) { reloadRooms().catch((err) => toast(err.message, "error")); return; }
  renderRoomList();
  if (row && row.room_id === state.roomId) renderRoomHeader();
});
let searchTimer = null;
$("#room-search").addEventListener("input", (e) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => { state.query = e.target.value.trim(); reloadRooms().catch((err) => toast(err.message, "error")); }, 250);
});
window.addEventListener("focus", () => { if (state.roomId) markRead(); });

for (const row of boot.rooms) upsertRoom(row);
renderRoomList();
connect({ onEvent: applyEvent, onReconnected: refreshOpenRoom, onRoomLost: roomLost });
refreshCounts();
if (boot.room_id) openRoom(boot.room_id);
