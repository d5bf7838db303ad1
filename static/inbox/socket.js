// The WebSocket: connect, catch up over GET /events (after the page render, or a drop),
// reconnect with backoff. What an event does to the page is events.js's business.
import { $ } from "./dom.js";
import { api } from "./api.js";
import { state } from "./state.js";

let socket = null;
let retryDelay = 500;
let everConnected = false;
let handlers = { onEvent() {}, onReconnected() {}, onRoomLost() {} };

function setConnection(stateName, label) {
  const node = $("#connection");
  node.dataset.state = stateName;
  $(".label", node).textContent = label;
  window.boztell.socketState = stateName;
}

export function socketSend(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

export function joinRoom(roomId) { socketSend({ action: "join_room", room_id: roomId }); }

// One catch-up at a time: a reconnect while one is in flight waits for it, then reads on
// from where it got to (two at once applied the same events twice, and the older one
// moved the cursor back over what the newer one had decided).
let catching = Promise.resolve();
function catchUp() {
  const app = $("#app");
  delete app.dataset.caughtUp;
  const run = catching.catch(() => {}).then(async () => {
    let more = true;
    while (more) {
      const page = await api("GET", `/events?after=${state.cursor}`);
      for (const item of page.results) {
        if (item.cursor > state.cursor) handlers.onEvent(item.event, item.data, item.cursor);
      }
      state.cursor = Math.max(state.cursor, page.next_cursor);
      more = page.has_more;
    }
    app.dataset.caughtUp = String(state.cursor);
  });
  catching = run;
  return run;
}

function onFrame(message) {
  const frame = JSON.parse(message.data);
  if (frame.event === "connected") {
    const wasReconnect = everConnected;
    everConnected = true;
    retryDelay = 500;
    setConnection("live", "Live");
    if (state.roomId) joinRoom(state.roomId);
    // events between the page render (or the drop) and now
    catchUp().then(() => { if (wasReconnect) handlers.onReconnected(); }).catch((error) => {
      // Away longer than the event log keeps: what was missed can only be reloaded.
      if (error.code === "cursor_expired") location.reload();
    });
    return;
  }
  if (frame.event === "error") { if (frame.data.code !== "not_in_room") console.warn("socket:", frame.data.message); return; }
  // The room this page gets live events for (typing, room:new_message) from now on.
  if (frame.event === "room_joined") { $("#app").dataset.joinedRoom = frame.data.room_id; return; }
  if (frame.event === "room_left") {
    delete $("#app").dataset.joinedRoom;
    // The server took the room from this user (assigned to someone else): drop it here too.
    if (frame.data.reason === "not_visible") handlers.onRoomLost(frame.data.room_id);
    return;
  }
  if (frame.event === "pong") return;
  if (frame.cursor && frame.cursor <= state.cursor) return; // already applied via catch-up
  handlers.onEvent(frame.event, frame.data, frame.cursor);
}

function open() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/`);
  socket.onmessage = onFrame;
  socket.onclose = (event) => {
    setConnection("offline", "Reconnecting…");
    // 4401: not signed in (any more); 4403: deactivated or another role: the page is redrawn
    // with what the user may see now (or the login page).
    if (event.code === 4401) { location.href = "/login/?next=/inbox/"; return; }
    if (event.code === 4403) { location.reload(); return; }
    // Jittered: after a server restart every agent's page reconnects, and a whole team
    // retrying on the same beat overruns daphne's handshake timeout again and again.
    setTimeout(open, retryDelay * (0.5 + Math.random()));
    retryDelay = Math.min(retryDelay * 2, 10000);
  };
}

// handlers: onEvent(event, data, cursor), onReconnected(), onRoomLost(roomId)
export function connect(given) {
  handlers = { ...handlers, ...given };
  open();
}

window.boztell.dropSocket = () => socket && socket.close();
