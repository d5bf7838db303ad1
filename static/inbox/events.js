// What each live event (socket or catch-up) does to the page. The payloads carry the
// server's rules: `counts_as_unread`, `window_open` / `window_closes_at`; per-user room
// fields (unread count, filters) come from GET /rooms/{id} when an event cannot carry them.
import { pageFocused } from "./dom.js";
import { preview } from "./format.js";
import { removeRoom, state, upsertRoom } from "./state.js";
import { showTyping } from "./composer.js";
import { renderLeadPanel, showPresence } from "./lead-panel.js";
import { addActivity, addMessage, addNote, refreshOpenRoom, renderMessages } from "./messages.js";
import { refreshRoomRow, renderRoomList } from "./room-list.js";
import { markRead, openRoom, renderRoomHeader } from "./room-view.js";
import { refreshCounts } from "./status.js";
import { notify, toast } from "./toasts.js";

const WINDOW_FIELDS = ["window_open", "window_closes_at"];

// The server took the room from this user: drop it here too.
export function roomLost(roomId) {
  removeRoom(roomId);
  refreshCounts();
  renderRoomList();
  if (roomId === state.roomId) toast("This room was reassigned to another agent.");
}

function newRoom(data) {
  const exists = state.rooms.has(data.room_id);
  refreshCounts();
  upsertRoom(data, { toTop: true });
  renderRoomList();
  if (!exists) notify(`New chat: ${data.room_title || data.room_phone}`, () => openRoom(data.room_id));
  if (data.room_id === state.roomId) { renderRoomHeader(); refreshOpenRoom(); }
  // This user's view of the room (is it theirs, unassigned): the event is the same for all.
  refreshRoomRow(data.room_id).then(() => {
    if (data.room_id === state.roomId) { renderRoomHeader(); renderLeadPanel(); }
  }).catch(() => {});
}

function newMessage(data) {
  const room = state.rooms.get(data.room_id);
  const isOpen = data.room_id === state.roomId;
  if (room) {
    // A new message is its room's newest (the server stamps the time).
    room.last_message_text = data.content_text;
    room.last_message_type = data.content_type;
    room.last_message_timestamp = data.created_at;
    for (const field of WINDOW_FIELDS) if (field in data) room[field] = data[field];
    if (data.counts_as_unread && !(isOpen && pageFocused())) room.unread_count = (room.unread_count || 0) + 1;
    upsertRoom(room, { toTop: true });
  } else {
    refreshRoomRow(data.room_id, { toTop: true }).catch(() => {});
  }
  renderRoomList();
  if (isOpen) {
    addMessage(data);
    renderRoomHeader();
    if (data.counts_as_unread && pageFocused()) markRead();
  }
  if (data.counts_as_unread) notify(`${(room && room.room_title) || "Customer"}: ${preview(data.content_type, data.content_text)}`, () => openRoom(data.room_id));
}

function messageChanged(event, data) {
  if (data.room_id !== state.roomId) return;
  const m = state.messages.find((x) => x.id === data.id);
  if (!m) return;
  if (event === "message_status") {
    m.status = data.status;
    m.status_timestamp = data.status_timestamp;
    if (data.error) m.metadata = { ...(m.metadata || {}), error: data.error };
    if (data.wa_message_id) m.wa_message_id = data.wa_message_id;
  } else Object.assign(m, data);
  renderMessages();
}

function roomAssigned(data) {
  if (data.activity && data.room_id === state.roomId) addActivity(data.activity);
  refreshCounts();
  refreshRoomRow(data.room_id).then((row) => {
    if (row.room_id === state.roomId) renderLeadPanel();
  }).catch(() => roomLost(data.room_id));
}

function leadUpdated(data) {
  const room = state.rooms.get(data.room_id);
  if (!room) return;
  room.leads_info = data.leads_info;
  if (data.leads_id !== undefined) room.leads_id = data.leads_id;
  if (data.room_title) room.room_title = data.room_title;
  renderRoomList();
  if (data.room_id === state.roomId) { renderRoomHeader(); renderLeadPanel(); }
}

// Two rooms were one customer: the older one now holds everything.
function roomMerged(data) {
  removeRoom(data.from_room_id);
  const into = state.rooms.get(data.into_room_id);
  const { from_room_id: _from, into_room_id: _into, ...fields } = data;
  if (into) upsertRoom({ ...into, ...fields });
  refreshRoomRow(data.into_room_id).then(() => {
    if (state.roomId === data.into_room_id) renderRoomHeader();
  }).catch(() => {});
  renderRoomList();
  if (state.roomId === data.from_room_id) openRoom(data.into_room_id);
  else if (state.roomId === data.into_room_id) { renderRoomHeader(); refreshOpenRoom(); }
}

// A colleague @mentioned this user in a private note: a toast that opens the room.
function noteMention(data) {
  const who = (data.author || {}).display_name || "A colleague";
  const room = data.room_title || (state.rooms.get(data.room_id) || {}).room_title || "a conversation";
  toast(`${who} mentioned you in ${room}: ${data.text}`, "mention", () => openRoom(data.room_id), 12000);
}

// A room's status changed (an agent here or elsewhere, the customer wrote, a snooze
// ended): the list's tabs follow; a room this page did not hold is asked for.
function statusChanged(data) {
  const room = state.rooms.get(data.room_id);
  const isOpen = data.room_id === state.roomId;
  if (room) {
    room.status = data.status;
    room.snoozed_until = data.snoozed_until || null;
  }
  if (room && state.order.includes(data.room_id)) renderRoomList();
  else {
    // Not in the list this page loaded (another tab's rooms): the server's row for it.
    refreshRoomRow(data.room_id).then(() => { if (isOpen) renderRoomHeader(); }).catch(() => {});
  }
  if (isOpen) {
    renderRoomHeader();
    if (data.activity) addActivity(data.activity);
  }
  refreshCounts();
}

function labelsChanged(data) {
  const room = state.rooms.get(data.room_id);
  if (!room) return;
  room.labels = data.labels;
  renderRoomList();
  if (data.room_id === state.roomId) renderRoomHeader();
}

export function applyEvent(event, data, cursor) {
  if (cursor) state.cursor = Math.max(state.cursor, cursor);
  switch (event) {
    case "new_room_complete": newRoom(data); break;
    case "new_message": newMessage(data); break;
    case "room:new_message": break; // the same message as new_message, which already updated this room
    case "message_status":
    case "message_updated": messageChanged(event, data); break;
    case "message_reaction":
      if (data.room_id === state.roomId) addMessage({ ...data, content_type: "reaction" });
      break;
    case "typing": showTyping(data); break;
    case "presence": showPresence(data.user_id, data.status === "online"); break;
    case "room_assigned": roomAssigned(data); break;
    case "room_read": {
      const room = state.rooms.get(data.room_id);
      if (room) { room.unread_count = data.unread_count; renderRoomList(); }
      break;
    }
    case "lead_updated": leadUpdated(data); break;
    case "room_merged": roomMerged(data); break;
    case "room_note_created": if (data.room_id === state.roomId) addNote(data); break;
    case "note_mention": noteMention(data); break;
    case "room_labels_changed": labelsChanged(data); break;
    case "room_status_changed": statusChanged(data); break;
    default: break;
  }
}
