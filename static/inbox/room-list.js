// The room list: rows as the server sends them, filtered by what the server says each
// room is for this user (assigned_to_me, unassigned, unread_count).
import { $, el, pageFocused } from "./dom.js";
import { api } from "./api.js";
import { contactLine, preview, shortTime } from "./format.js";
import { labelChips } from "./labels.js";
import { state, upsertRoom } from "./state.js";
import { statusChip } from "./status.js";

function roomMatchesFilter(room) {
  // The status tab (the server's ?status=): a resolved room leaves Open, a reopened one comes back.
  if (state.status !== "all" && room.status && room.status !== state.status) return false;
  // The label filter (the server's ?label=): a room whose labels changed leaves or joins.
  if (state.label && !(room.labels || []).some((l) => l.name === state.label)) return false;
  if (state.filter === "mine") return room.assigned_to_me === true;
  if (state.filter === "unassigned") return room.unassigned === true;
  if (state.filter === "unread") return (room.unread_count || 0) > 0;
  return true;
}

export function renderRoomList() {
  const list = $("#room-list");
  list.replaceChildren();
  const rooms = state.order.map((id) => state.rooms.get(id)).filter(roomMatchesFilter);
  for (const room of rooms) {
    // The open room is being read (markRead tells the server) while the page is in front.
    const unread = room.room_id === state.roomId && pageFocused() ? 0 : room.unread_count || 0;
    list.append(el("li", {
      class: "room-row", tabindex: "0", role: "link", "data-room-id": room.room_id,
      "aria-current": room.room_id === state.roomId ? "true" : "false",
    },
    el("span", { class: "name", text: room.room_title || room.room_phone }),
    el("span", { class: "time", text: shortTime(room.last_message_timestamp) }),
    el("span", { class: "preview", text: preview(room.last_message_type, room.last_message_text) }),
    el("span", { class: "badge", "data-count": String(unread), text: unread > 99 ? "99+" : String(unread) }),
    el("span", { class: "phone", text: contactLine(room) }, state.status === "all" ? statusChip(room) : null),
    (room.labels || []).length ? labelChips(room.labels, { cls: "labels row-labels" }) : null));
  }
  $("#rooms-empty").hidden = rooms.length > 0;
}

export async function reloadRooms() {
  const params = new URLSearchParams({ filter: state.filter });
  if (state.query) params.set("q", state.query);
  if (state.label) params.set("label", state.label);
  if (state.status !== "all") params.set("status", state.status);
  const data = await api("GET", `/rooms/?${params}`);
  // The open room stays known (its header, its events) even when this list leaves it out.
  const open = state.rooms.get(state.roomId);
  state.rooms = new Map();
  state.order = [];
  for (const row of data.results) upsertRoom(row);
  if (open && !state.rooms.has(open.room_id)) state.rooms.set(open.room_id, open);
  renderRoomList();
}

// The room's row as the server sees it for this user now (per-user fields: unread count,
// filters), e.g. after an event that could only say what is the same for everyone.
const EVENT_FIELDS = ["last_message_text", "last_message_type", "last_message_timestamp", "unread_count", "message_count", "window_open", "window_closes_at"];

export async function refreshRoomRow(roomId, options = {}) {
  const row = await api("GET", `/rooms/${roomId}`);
  const local = state.rooms.get(roomId);
  // Messages whose events arrived while this request was in flight are newer than the
  // server's answer (a burst of three showed an unread count of 2): the answer brings this
  // user's view of the room, the events keep what they already told.
  if (local && local.last_message_timestamp && row.last_message_timestamp
      && new Date(local.last_message_timestamp) > new Date(row.last_message_timestamp)) {
    for (const field of EVENT_FIELDS) if (field in local) row[field] = local[field];
  }
  upsertRoom(row, options);
  renderRoomList();
  return row;
}
