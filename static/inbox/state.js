// The page's state: the rooms as the server last described them, the open room.
// Exposed as window.boztell.state for the browser tests.

export const boot = JSON.parse(document.getElementById("boot").textContent);
export const me = boot.me;

export const state = {
  rooms: new Map(),        // room_id -> room row (the server's fields, see docs/messages-api.md)
  order: [],               // room ids, latest first
  filter: "all",
  status: "open",          // the room list's status tab (GET /rooms/?status=), "all" for any
  label: "",               // the room list's label filter (GET /rooms/?label=), "" for any
  query: "",
  roomId: null,
  messages: [],            // the open room's messages, oldest first
  olderCursor: null,
  // The open room's other timeline streams, each paged back on its own (oldest first):
  // private notes (GET /rooms/{id}/notes) and activity lines (GET /rooms/{id}/activity).
  streams: { notes: { items: [], cursor: null }, activity: { items: [], cursor: null } },
  loadingOlder: false,
  replyTo: null,
  cursor: boot.cursor || 0,
  team: new Map(boot.team.map((u) => [u.id, u])),
  templates: boot.templates,
  labels: boot.labels || [], // every label there is ({name, colour}), GET /rooms/labels
  composeMode: "reply",      // "reply" (WhatsApp) or "note" (private note)
  typingTimer: null,
};
window.boztell = { state, sounds: 0, toasts: 0, socketState: "connecting" };

export const openRoomRow = () => state.rooms.get(state.roomId);

function sortRooms() {
  state.order.sort((a, b) => {
    const ta = state.rooms.get(a).last_message_timestamp || "";
    const tb = state.rooms.get(b).last_message_timestamp || "";
    return ta < tb ? 1 : ta > tb ? -1 : 0;
  });
}

export function upsertRoom(row, { toTop = false } = {}) {
  const previous = state.rooms.get(row.room_id) || {};
  state.rooms.set(row.room_id, { ...previous, ...row });
  state.order = state.order.filter((id) => id !== row.room_id);
  if (toTop) state.order.unshift(row.room_id);
  else {
    state.order.push(row.room_id);
    sortRooms();
  }
}

export function removeRoom(roomId) {
  state.rooms.delete(roomId);
  state.order = state.order.filter((id) => id !== roomId);
}
