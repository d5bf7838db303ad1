// Boztell inbox: one page, kept live by the WebSocket; actions go through the REST API.
"use strict";

(function () {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const me = boot.me;
  const $ = (sel, root = document) => root.querySelector(sel);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  };

  // --- state --------------------------------------------------------------------------
  const state = {
    rooms: new Map(),        // room_id -> room row
    order: [],               // room ids, latest first
    filter: "all",
    query: "",
    roomId: null,
    messages: [],            // the open room's messages, oldest first
    olderCursor: null,
    loadingOlder: false,
    replyTo: null,
    cursor: boot.cursor || 0,
    team: new Map(boot.team.map((u) => [u.id, u])),
    templates: boot.templates,
    typingTimer: null,
  };
  window.boztell = { state, sounds: 0, toasts: 0, socketState: "connecting" };

  // --- formatting (the agent's own time zone) -------------------------------------------
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone: zone });
  const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: zone });
  const shortDayFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone: zone });
  const dayKey = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(d);
  const idr = new Intl.NumberFormat("id-ID", { style: "currency", currency: "IDR", maximumFractionDigits: 0 });
  function shortTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return dayKey(d) === dayKey(new Date()) ? timeFmt.format(d) : shortDayFmt.format(d);
  }
  function size(bytes) {
    if (!bytes && bytes !== 0) return "";
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }
  const TYPE_ICONS = { image: "📷", video: "🎬", audio: "🎤", document: "📄", sticker: "💟", location: "📍", contacts: "👤", template: "▤", reaction: "", interactive: "☑", button: "☑" };
  const preview = (type, text) => `${TYPE_ICONS[type] ? TYPE_ICONS[type] + " " : ""}${text || type || ""}`;

  // --- REST -------------------------------------------------------------------------------
  function csrf() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  async function api(method, path, body) {
    const options = { method, headers: { "X-CSRFToken": csrf(), Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const error = new Error((data && data.error && data.error.message) || `Request failed (${response.status})`);
      error.code = data && data.error && data.error.code;
      error.data = data;
      throw error;
    }
    return data;
  }

  // --- feedback ---------------------------------------------------------------------------
  function toast(text, kind = "", onclick = null) {
    const node = el("div", { class: `toast ${kind}`, role: "status", text });
    node.addEventListener("click", () => { node.remove(); if (onclick) onclick(); });
    $("#toasts").append(node);
    window.boztell.toasts += 1;
    setTimeout(() => node.remove(), 5000);
  }
  let audio = null;
  function ding() {
    window.boztell.sounds += 1;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.35);
    } catch (e) { /* sound is a nicety */ }
  }
  const pageFocused = () => !document.hidden && document.hasFocus();
  function notify(text, roomId) {
    if (pageFocused()) return;
    ding();
    toast(text, "", () => openRoom(roomId));
  }

  // --- room list ------------------------------------------------------------------------
  function upsertRoom(row, { toTop = false } = {}) {
    const previous = state.rooms.get(row.room_id) || {};
    state.rooms.set(row.room_id, { ...previous, ...row });
    state.order = state.order.filter((id) => id !== row.room_id);
    if (toTop) state.order.unshift(row.room_id);
    else {
      state.order.push(row.room_id);
      sortRooms();
    }
  }
  function sortRooms() {
    state.order.sort((a, b) => {
      const ta = state.rooms.get(a).last_message_timestamp || "";
      const tb = state.rooms.get(b).last_message_timestamp || "";
      return ta < tb ? 1 : ta > tb ? -1 : 0;
    });
  }
  function roomMatchesFilter(room) {
    const assigned = room.assigned_user_ids || [];
    if (state.filter === "mine") return assigned.includes(me.id);
    if (state.filter === "unassigned") return assigned.length === 0;
    if (state.filter === "unread") return (room.unread_count || 0) > 0;
    return true;
  }
  // The customer as Meta shows them: +number, else @username (a BSUID is never shown).
  function contactLine(room) {
    if (room.room_phone) return `+${room.room_phone}`;
    return room.room_username ? `@${room.room_username}` : "WhatsApp username";
  }
  function renderRoomList() {
    const list = $("#room-list");
    list.replaceChildren();
    const rooms = state.order.map((id) => state.rooms.get(id)).filter(roomMatchesFilter);
    for (const room of rooms) {
      const unread = room.room_id === state.roomId && pageFocused() ? 0 : room.unread_count || 0;
      list.append(el("li", {
        class: "room-row", tabindex: "0", role: "link", "data-room-id": room.room_id,
        "aria-current": room.room_id === state.roomId ? "true" : "false",
        onclick: () => openRoom(room.room_id),
        onkeydown: (e) => { if (e.key === "Enter") openRoom(room.room_id); },
      },
      el("span", { class: "name", text: room.room_title || room.room_phone }),
      el("span", { class: "time", text: shortTime(room.last_message_timestamp) }),
      el("span", { class: "preview", text: preview(room.last_message_type, room.last_message_text) }),
      el("span", { class: "badge", "data-count": String(unread), text: unread > 99 ? "99+" : String(unread) }),
      el("span", { class: "phone", text: contactLine(room) })));
    }
    $("#rooms-empty").hidden = rooms.length > 0;
  }
  async function reloadRooms() {
    const params = new URLSearchParams({ filter: state.filter });
    if (state.query) params.set("q", state.query);
    const data = await api("GET", `/rooms/?${params}`);
    state.rooms = new Map();
    state.order = [];
    for (const row of data.results) upsertRoom(row);
    renderRoomList();
  }

  // --- one room ---------------------------------------------------------------------------
  function setView(view) { $("#app").dataset.view = view; }
  async function openRoom(roomId) {
    if (!roomId) return;
    state.roomId = roomId;
    state.replyTo = null;
    $("#reply-bar").hidden = true;
    $("#room-empty").hidden = true;
    $("#room-view").hidden = false;
    setView("room");
    if (location.pathname !== `/inbox/${roomId}`) history.replaceState(null, "", `/inbox/${roomId}`);
    let room = state.rooms.get(roomId);
    if (!room) {
      room = await api("GET", `/rooms/${roomId}`);
      upsertRoom(room);
    }
    renderRoomHeader();
    renderLeadPanel();
    $("#messages").replaceChildren(el("p", { class: "empty", text: "Loading messages…" }));
    const page = await api("GET", `/rooms/${roomId}/messages`);
    if (state.roomId !== roomId) return;
    state.messages = page.results;
    state.olderCursor = page.older_cursor;
    renderMessages({ scroll: "bottom" });
    joinRoom(roomId);
    markRead();
    renderRoomList();
    $("#text").focus();
  }
  function windowOpen(room) {
    if (!room || !room.last_customer_message_at) return false;
    return Date.now() - new Date(room.last_customer_message_at).getTime() < 24 * 3600 * 1000;
  }
  function renderRoomHeader() {
    const room = state.rooms.get(state.roomId);
    if (!room) return;
    $("#room-title").textContent = room.room_title || room.room_phone;
    $("#room-phone").textContent = contactLine(room);
    const open = windowOpen(room);
    $("#window-closed").hidden = open;
    $("#text").disabled = !open;
    $("#send").disabled = !open;
    $("#file").disabled = !open;
    $("#text").placeholder = open ? "Type a message" : "Window closed: send a template";
  }

  const byWamid = () => new Map(state.messages.filter((m) => m.wa_message_id).map((m) => [m.wa_message_id, m]));
  function reactionsFor(wamid) {
    const latest = new Map();
    for (const m of state.messages) {
      if (m.content_type === "reaction" && m.reaction_to_wa_message_id === wamid) latest.set(m.user_id || "customer", m.reaction_emoji);
    }
    return [...latest.values()].filter(Boolean).join("");
  }
  const TICKS = { pending: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "⚠" };
  function renderMedia(m) {
    const meta = m.metadata || {};
    if (!m.gcs_url) {
      if (meta.media_status === "failed") return el("div", { class: "media-pending", text: `Media could not be downloaded (${meta.media_error || "error"}).` });
      return el("div", { class: "media-pending", text: "Downloading media…" });
    }
    const url = m.gcs_url;
    // The server decides what may be shown inline; anything else (documents, and any
    // type a customer claims) is only ever offered as a download, never opened as a page.
    if (!m.media_inline) {
      const label = m.original_filename || `${m.media_type[0].toUpperCase()}${m.media_type.slice(1)} (${m.mime_type || "unknown type"})`;
      return el("a", { class: "doc download", href: url, download: m.original_filename || true }, "📄", el("span", { text: `${label} · ${size(m.file_size)} · download` }));
    }
    if (m.media_type === "image") return el("a", { href: url, target: "_blank", rel: "noopener" }, el("img", { class: "media", src: url, alt: m.content_text || "Image", loading: "lazy" }));
    if (m.media_type === "sticker") return el("img", { class: "media sticker", src: url, alt: "Sticker", loading: "lazy" });
    if (m.media_type === "audio") return el("audio", { controls: true, src: url, preload: "none" });
    if (m.media_type === "video") return el("video", { controls: true, src: url, preload: "metadata" });
    return el("a", { class: "doc", href: url, target: "_blank", rel: "noopener" }, "📄", el("span", { text: `${m.original_filename || "Document"} · ${size(m.file_size)}` }));
  }
  function renderBody(m) {
    const meta = m.metadata || {};
    const parts = [];
    if (m.media_type) {
      parts.push(renderMedia(m));
      if (meta.caption) parts.push(el("div", { class: "text", text: meta.caption }));
      return parts;
    }
    if (m.content_type === "location" && meta.location) {
      const { latitude, longitude, name, address } = meta.location;
      parts.push(el("a", { href: `https://www.google.com/maps?q=${latitude},${longitude}`, target: "_blank", rel: "noopener" }, `📍 ${[name, address].filter(Boolean).join(", ") || `${latitude}, ${longitude}`}`));
      return parts;
    }
    if (m.content_type === "contacts" && meta.contacts) {
      for (const card of meta.contacts) {
        const phones = (card.phones || []).map((p) => p.phone).join(", ");
        parts.push(el("div", { class: "doc" }, "👤", el("span", { text: `${(card.name || {}).formatted_name || "Contact"} ${phones}` })));
      }
      return parts;
    }
    parts.push(el("div", { class: "text", text: m.content_text || `(${m.content_type})` }));
    return parts;
  }
  function renderMessage(m, wamids) {
    if (m.content_type === "reaction") return null;
    const mine = m.user_id !== null;
    const author = mine ? (state.team.get(m.user_id) || {}).name || "Agent" : null;
    const node = el("div", { class: `msg ${mine ? "mine" : ""} ${m.content_type === "system" ? "system" : ""}`, "data-id": m.id, "data-wamid": m.wa_message_id || "" });
    if (author) node.append(el("div", { class: "author", text: author }));
    if (m.reply_to_wa_message_id) {
      const quoted = wamids.get(m.reply_to_wa_message_id);
      node.append(el("div", { class: "quote", text: quoted ? quoted.content_text || quoted.content_type : "A previous message" }));
    }
    if ((m.metadata || {}).forwarded) node.append(el("div", { class: "author muted", text: "↪ Forwarded" }));
    node.append(...renderBody(m));
    const meta = el("div", { class: "meta" }, el("time", { datetime: m.created_at, text: timeFmt.format(new Date(m.created_at)) }));
    if (mine) meta.append(el("span", { class: "tick", "data-status": m.status, title: m.status, text: TICKS[m.status] || "" }));
    node.append(meta);
    if (mine && m.status === "failed") {
      const error = (m.metadata || {}).error || {};
      node.append(el("div", { class: "failed-reason" }, `Not sent: ${error.message || error.title || "WhatsApp refused it"} `,
        el("button", { class: "small primary retry", type: "button", onclick: () => retry(m.id) }, "Retry")));
    }
    const reactions = m.wa_message_id ? reactionsFor(m.wa_message_id) : "";
    if (reactions) {
      node.classList.add("has-reactions");
      node.append(el("span", { class: "reactions", text: reactions }));
    }
    const actions = el("div", { class: "actions" },
      el("button", { type: "button", title: "Reply", "aria-label": "Reply", onclick: () => setReply(m) }, "↩"),
      ...["👍", "❤️", "🙏"].map((emoji) => el("button", { type: "button", title: `React ${emoji}`, "aria-label": `React ${emoji}`, onclick: () => react(m, emoji) }, emoji)),
      el("button", { type: "button", title: "Forward", "aria-label": "Forward", onclick: () => forward(m) }, "↪"));
    if (m.wa_message_id) node.append(actions);
    return node;
  }
  function renderMessages({ scroll = "keep" } = {}) {
    const box = $("#messages");
    const before = box.scrollHeight - box.scrollTop;
    const wamids = byWamid();
    box.replaceChildren();
    if (state.olderCursor) box.append(el("p", { class: "empty", text: "Scroll up for older messages" }));
    let lastDay = null;
    for (const m of state.messages) {
      const day = dayKey(new Date(m.created_at));
      if (day !== lastDay && m.content_type !== "reaction") {
        box.append(el("div", { class: "day" }, el("span", { text: dayFmt.format(new Date(m.created_at)) })));
        lastDay = day;
      }
      const node = renderMessage(m, wamids);
      if (node) box.append(node);
    }
    if (!state.messages.length) box.append(el("p", { class: "empty", text: "No messages yet." }));
    if (scroll === "bottom") box.scrollTop = box.scrollHeight;
    else box.scrollTop = box.scrollHeight - before;
  }
  function nearBottom() {
    const box = $("#messages");
    return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  }
  async function loadOlder() {
    if (!state.olderCursor || state.loadingOlder) return;
    state.loadingOlder = true;
    const roomId = state.roomId;
    try {
      const page = await api("GET", `/rooms/${roomId}/messages?before=${encodeURIComponent(state.olderCursor)}`);
      if (roomId !== state.roomId) return;
      state.messages = [...page.results, ...state.messages];
      state.olderCursor = page.older_cursor;
      renderMessages({ scroll: "keep" });
    } finally {
      state.loadingOlder = false;
    }
  }
  function addMessage(m) {
    const index = state.messages.findIndex((x) => x.id === m.id);
    if (index >= 0) state.messages[index] = { ...state.messages[index], ...m };
    else state.messages.push(m);
    const stick = nearBottom() || m.user_id === me.id;
    renderMessages({ scroll: stick ? "bottom" : "keep" });
  }

  // --- lead panel -----------------------------------------------------------------------
  const LEADS_STATUSES = ["new", "cold", "warm", "hot", "collection", "paid", "lost"];
  const CONTACT_STATUSES = ["uncontacted", "contacted", "promise_to_pay", "unreachable", "do_not_contact"];
  function statusSelect(name, value, options, leadId) {
    const all = value && !options.includes(value) ? [value, ...options] : options;
    return el("select", { name, "aria-label": name.replace("_", " "), onchange: async (e) => {
      try {
        const lead = await api("PATCH", `/leads/${leadId}`, { [name]: e.target.value });
        const room = state.rooms.get(state.roomId);
        if (room) room.leads_info = lead;
        toast("Lead updated");
      } catch (err) { toast(err.message, "error"); }
    } }, el("option", { value: "", text: "—" }), ...all.map((o) => el("option", { value: o, text: o.replaceAll("_", " "), selected: o === value })));
  }
  // A lead's imported attributes (due date, instalment, DPD, ...), formatted by their type.
  let attributeTypes = null;
  const calendarFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  function attributeText(value, type) {
    if (type === "money" && typeof value === "number") return idr.format(value);
    // A due date is a calendar day, the same in every zone: not shifted by the agent's.
    if (type === "date" && /^\d{4}-\d{2}-\d{2}$/.test(value)) return calendarFmt.format(new Date(`${value}T00:00:00Z`));
    if (type === "number" && typeof value === "number") return value.toLocaleString();
    return String(value);
  }
  async function renderLeadAttributes(panel, lead) {
    const keys = Object.keys(lead.attributes || {});
    if (!keys.length) return;
    const list = el("dl", { class: "lead-attributes" });
    panel.append(list);
    if (!attributeTypes) {
      try { attributeTypes = new Map((await api("GET", "/leads/attributes")).map((a) => [a.key, a])); } catch (err) { attributeTypes = new Map(); }
    }
    for (const key of keys) {
      const def = attributeTypes.get(key) || { label: key.replaceAll("_", " "), type: "text" };
      list.append(el("dt", { text: def.label }), el("dd", { "data-attribute": key, text: attributeText(lead.attributes[key], def.type) }));
    }
  }
  function renderLeadPanel() {
    const panel = $("#lead-panel");
    const room = state.rooms.get(state.roomId);
    panel.replaceChildren();
    if (!room) return;
    const lead = room.leads_info;
    panel.append(el("button", { class: "link", type: "button", onclick: () => setView("room"), "aria-label": "Back to conversation" }, "← Conversation"));
    panel.append(el("h2", { text: lead ? lead.name : room.room_title || room.room_phone }));
    panel.append(el("div", { class: "muted", text: contactLine(room) }));
    if (lead) {
      panel.append(el("dl", {},
        el("dt", { text: "Outstanding" }), el("dd", { class: "outstanding", text: idr.format(lead.outstanding) }),
        el("dt", { text: "Loan type" }), el("dd", { text: lead.loan_type || "—" }),
        el("dt", { text: "Lead status" }), el("dd", {}, statusSelect("leads_status", lead.leads_status, LEADS_STATUSES, lead.id)),
        el("dt", { text: "Contact" }), el("dd", {}, statusSelect("contact_status", lead.contact_status, CONTACT_STATUSES, lead.id))));
      if (lead.do_not_contact) panel.append(el("p", { class: "dnc", text: "Do not contact (marketing)" }));
      renderLeadAttributes(panel, lead);
    } else {
      panel.append(el("p", { class: "muted", text: "No lead has this number yet." }));
    }
    const assigned = room.assigned_user_ids || [];
    panel.append(el("h3", { text: "Assigned" }));
    const team = el("ul", { class: "team" });
    for (const id of assigned) {
      const user = state.team.get(id) || { name: "Agent", online: false };
      team.append(el("li", {}, el("span", { class: "presence", "data-user": id, "data-online": String(!!user.online) }), user.name));
    }
    if (!assigned.length) team.append(el("li", { class: "muted", text: "Nobody yet" }));
    panel.append(team);
    if (!assigned.length) panel.append(el("button", { class: "primary small", type: "button", id: "claim", onclick: () => assign(me.id) }, "Claim this room"));
    if (me.is_supervisor) {
      const select = el("select", { "aria-label": "Reassign to", id: "reassign" }, el("option", { value: "", text: "Reassign to…" }),
        ...[...state.team.values()].filter((u) => u.role === "agent").map((u) => el("option", { value: u.id, text: u.name })));
      select.addEventListener("change", () => select.value && assign(select.value));
      panel.append(select);
    }
  }
  async function assign(userId) {
    try {
      const row = await api("POST", `/rooms/${state.roomId}/assign`, userId === me.id ? {} : { user_id: userId });
      upsertRoom(row);
      renderLeadPanel();
      renderRoomList();
      toast(userId === me.id ? "Room claimed" : "Room reassigned");
    } catch (err) { toast(err.message, "error"); }
  }

  // --- actions ----------------------------------------------------------------------------
  function setReply(m) {
    state.replyTo = m;
    const bar = $("#reply-bar");
    bar.hidden = false;
    $("span", bar).textContent = `Replying to: ${m.content_text || m.content_type}`;
    $("#text").focus();
  }
  async function send() {
    const input = $("#text");
    const text = input.value.trim();
    if (!text || !state.roomId) return;
    const room = state.rooms.get(state.roomId);
    const body = { room_id: room.room_id, text };
    if (state.replyTo) body.reply_to = state.replyTo.wa_message_id;
    input.value = "";
    autosize();
    $("#send").disabled = true;
    stopTyping();
    try {
      const message = await api("POST", "/messages/send", body);
      state.replyTo = null;
      $("#reply-bar").hidden = true;
      if (message.room_id === state.roomId) addMessage(message);
    } catch (err) {
      toast(err.message, "error");
      if (err.data && err.data.error && err.data.error.details && err.data.error.details.message_id) refreshOpenRoom();
      else input.value = text;
    } finally {
      $("#send").disabled = !windowOpen(state.rooms.get(state.roomId));
      input.focus();
    }
  }
  async function retry(messageId) {
    try {
      addMessage(await api("POST", `/messages/${messageId}/retry`, {}));
      toast("Sent again");
    } catch (err) { toast(err.message, "error"); }
  }
  async function react(m, emoji) {
    try {
      const current = state.messages.filter((x) => x.content_type === "reaction" && x.user_id === me.id && x.reaction_to_wa_message_id === m.wa_message_id).pop();
      const next = current && current.reaction_emoji === emoji ? "" : emoji;
      addMessage(await api("POST", "/messages/react", { message_id: m.id, emoji: next }));
    } catch (err) { toast(err.message, "error"); }
  }
  async function forward(m) {
    const to = window.prompt("Forward to which number?");
    if (!to) return;
    try {
      await api("POST", `/messages/${m.id}/forward`, { to });
      toast("Forwarded");
    } catch (err) { toast(err.message, "error"); }
  }
  async function markRead() {
    const room = state.rooms.get(state.roomId);
    if (!room) return;
    room.unread_count = 0;
    renderRoomList();
    try { await api("POST", "/messages/mark-read", { room_id: state.roomId }); } catch (e) { /* shown on next load */ }
  }
  async function refreshOpenRoom() {
    if (!state.roomId) return;
    const roomId = state.roomId;
    const last = state.messages[state.messages.length - 1];
    const page = await api("GET", `/rooms/${roomId}/messages`);
    if (roomId !== state.roomId) return;
    const known = new Map(state.messages.map((m) => [m.id, m]));
    for (const m of page.results) known.set(m.id, m);
    state.messages = [...known.values()].sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
    renderMessages({ scroll: last ? "keep" : "bottom" });
  }

  // media upload with a progress bar
  function upload(file) {
    const room = state.rooms.get(state.roomId);
    if (!room || !file) return;
    const form = new FormData();
    form.append("media", file);
    form.append("room_id", room.room_id);
    const caption = $("#text").value.trim();
    if (caption && !file.type.startsWith("audio/")) { form.append("caption", caption); $("#text").value = ""; }
    const box = $("#upload");
    const bar = $("progress", box);
    box.hidden = false;
    bar.value = 0;
    $("span", box).textContent = `Uploading ${file.name}…`;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/messages/send-media-combined");
    xhr.setRequestHeader("X-CSRFToken", csrf());
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100); };
    xhr.onload = () => {
      box.hidden = true;
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) { if (data.room_id === state.roomId) addMessage(data); toast("Sent"); }
      else toast((data && data.error && data.error.message) || "Upload failed", "error");
    };
    xhr.onerror = () => { box.hidden = true; toast("Upload failed: check the connection", "error"); };
    xhr.send(form);
  }

  // templates
  const placeholders = (text) => new Set((text || "").match(/{{\s*\w+\s*}}/g) || []).size;
  const component = (t, type) => (t.components || []).find((c) => (c.type || "").toUpperCase() === type) || {};
  function openTemplates() {
    const dialog = $("#template-dialog");
    const select = $("#template-select");
    select.replaceChildren(...state.templates.map((t, i) => el("option", { value: String(i), text: `${t.name} (${t.language})` })));
    $("#template-error").hidden = true;
    if (!state.templates.length) {
      $("#template-preview").textContent = "No approved templates yet. A supervisor syncs them from WhatsApp in Admin.";
      $("#template-params").replaceChildren();
      $("#template-send").disabled = true;
    } else { $("#template-send").disabled = false; fillTemplate(); }
    dialog.showModal();
  }
  function fillTemplate() {
    const t = state.templates[Number($("#template-select").value)];
    if (!t) return;
    const body = component(t, "BODY");
    const header = component(t, "HEADER");
    $("#template-preview").textContent = [header.format === "TEXT" ? header.text : null, body.text].filter(Boolean).join("\n\n");
    const fields = [];
    const headerCount = header.format === "TEXT" ? placeholders(header.text) : 0;
    for (let i = 1; i <= headerCount; i++) fields.push(el("label", { text: `Header {{${i}}}` }), el("input", { "data-part": "header", required: true }));
    for (let i = 1; i <= placeholders(body.text); i++) fields.push(el("label", { text: `Body {{${i}}}` }), el("input", { "data-part": "body", required: true }));
    $("#template-params").replaceChildren(...fields);
  }
  async function sendTemplate(event) {
    event.preventDefault();
    const t = state.templates[Number($("#template-select").value)];
    const room = state.rooms.get(state.roomId);
    const values = (part) => [...document.querySelectorAll(`#template-params input[data-part="${part}"]`)].map((i) => i.value);
    try {
      const message = await api("POST", "/messages/send-template", { room_id: room.room_id, templateName: t.name, languageCode: t.language, bodyParameters: values("body"), headerParameters: values("header") });
      $("#template-dialog").close();
      if (message.room_id === state.roomId) addMessage(message);
      toast("Template sent");
    } catch (err) {
      $("#template-error").textContent = err.message;
      $("#template-error").hidden = false;
    }
  }

  // --- typing -----------------------------------------------------------------------------
  let typingSentAt = 0;
  function typed() {
    if (!state.roomId) return;
    const now = Date.now();
    if (now - typingSentAt > 2000) { socketSend({ action: "typing", room_id: state.roomId, is_typing: true }); typingSentAt = now; }
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(stopTyping, 3000);
  }
  function stopTyping() {
    clearTimeout(state.typingTimer);
    if (typingSentAt && state.roomId) socketSend({ action: "typing", room_id: state.roomId, is_typing: false });
    typingSentAt = 0;
  }
  const typingPeople = new Map();
  function showTyping(data) {
    if (data.room_id !== state.roomId) return;
    if (data.is_typing) {
      clearTimeout(typingPeople.get(data.user_id));
      typingPeople.set(data.user_id, setTimeout(() => { typingPeople.delete(data.user_id); renderTyping(); }, 5000));
    } else {
      clearTimeout(typingPeople.get(data.user_id));
      typingPeople.delete(data.user_id);
    }
    renderTyping(data.display_name);
  }
  function renderTyping(name) {
    const n = typingPeople.size;
    $("#typing").textContent = n === 0 ? "" : n === 1 ? `${name || "Someone"} is typing…` : `${n} people are typing…`;
  }

  // --- live events ------------------------------------------------------------------------
  function applyEvent(event, data, cursor) {
    if (cursor) state.cursor = Math.max(state.cursor, cursor);
    switch (event) {
      case "new_room_complete": {
        const row = { ...data, assigned_user_ids: (data.participants || []).filter((p) => p.is_assigned).map((p) => p.user_id) };
        const exists = state.rooms.has(data.room_id);
        upsertRoom(row, { toTop: true });
        renderRoomList();
        if (!exists) notify(`New chat: ${data.room_title || data.room_phone}`, data.room_id);
        if (data.room_id === state.roomId) refreshOpenRoom();
        break;
      }
      case "new_message": {
        const room = state.rooms.get(data.room_id);
        const isOpen = data.room_id === state.roomId;
        if (room) {
          if (data.content_type !== "reaction") {
            room.last_message_text = data.content_text;
            room.last_message_type = data.content_type;
            room.last_message_timestamp = data.created_at;
            room.message_count = (room.message_count || 0) + 1;
          }
          if (data.user_id === null) {
            room.last_customer_message_at = data.created_at;
            if (!(isOpen && pageFocused())) room.unread_count = (room.unread_count || 0) + 1;
          }
          upsertRoom(room, { toTop: true });
        } else {
          api("GET", `/rooms/${data.room_id}`).then((row) => { upsertRoom(row, { toTop: true }); renderRoomList(); }).catch(() => {});
        }
        renderRoomList();
        if (isOpen) {
          addMessage(data);
          renderRoomHeader();
          if (data.user_id === null && pageFocused()) markRead();
        }
        if (data.user_id === null) notify(`${(room && room.room_title) || "Customer"}: ${preview(data.content_type, data.content_text)}`, data.room_id);
        break;
      }
      case "room:new_message":
        break; // the same message as new_message, which already updated this room
      case "message_status":
      case "message_updated": {
        if (data.room_id !== state.roomId) break;
        const m = state.messages.find((x) => x.id === data.id);
        if (!m) break;
        if (event === "message_status") {
          m.status = data.status;
          m.status_timestamp = data.status_timestamp;
          if (data.error) m.metadata = { ...(m.metadata || {}), error: data.error };
          if (data.wa_message_id) m.wa_message_id = data.wa_message_id;
        } else Object.assign(m, data);
        renderMessages();
        break;
      }
      case "message_reaction": {
        if (data.room_id !== state.roomId) break;
        addMessage({ ...data, content_type: "reaction" });
        break;
      }
      case "typing": showTyping(data); break;
      case "presence": {
        const user = state.team.get(data.user_id);
        if (user) user.online = data.status === "online";
        for (const dot of document.querySelectorAll(`.presence[data-user="${data.user_id}"]`)) dot.dataset.online = String(data.status === "online");
        break;
      }
      case "room_assigned": {
        api("GET", `/rooms/${data.room_id}`).then((row) => {
          upsertRoom(row);
          renderRoomList();
          if (row.room_id === state.roomId) renderLeadPanel();
        }).catch(() => {
          state.rooms.delete(data.room_id);
          state.order = state.order.filter((id) => id !== data.room_id);
          renderRoomList();
          if (data.room_id === state.roomId) toast("This room was reassigned to another agent.");
        });
        break;
      }
      case "room_read": {
        const room = state.rooms.get(data.room_id);
        if (room) { room.unread_count = 0; renderRoomList(); }
        break;
      }
      case "lead_updated": {
        const room = state.rooms.get(data.room_id);
        if (room) {
          room.leads_info = data.leads_info;
          if (data.leads_id !== undefined) room.leads_id = data.leads_id;
          if (data.room_title) room.room_title = data.room_title;
          renderRoomList();
          if (data.room_id === state.roomId) { renderRoomHeader(); renderLeadPanel(); }
        }
        break;
      }
      case "room_merged": {
        // Two rooms were one customer: the older one now holds everything.
        state.rooms.delete(data.from_room_id);
        state.order = state.order.filter((id) => id !== data.from_room_id);
        const into = state.rooms.get(data.into_room_id);
        const { from_room_id: _from, into_room_id: _into, ...fields } = data;
        if (into) upsertRoom({ ...into, ...fields });
        api("GET", `/rooms/${data.into_room_id}`).then((row) => { upsertRoom(row); renderRoomList(); }).catch(() => {});
        renderRoomList();
        if (state.roomId === data.from_room_id) openRoom(data.into_room_id);
        else if (state.roomId === data.into_room_id) refreshOpenRoom();
      }
      default: break;
    }
  }

  let socket = null;
  let retryDelay = 500;
  let everConnected = false;
  function setConnection(stateName, label) {
    const node = $("#connection");
    node.dataset.state = stateName;
    $(".label", node).textContent = label;
    window.boztell.socketState = stateName;
  }
  function socketSend(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }
  function joinRoom(roomId) { socketSend({ action: "join_room", room_id: roomId }); }
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
          if (item.cursor > state.cursor) applyEvent(item.event, item.data, item.cursor);
        }
        state.cursor = Math.max(state.cursor, page.next_cursor);
        more = page.has_more;
      }
      app.dataset.caughtUp = String(state.cursor);
    });
    catching = run;
    return run;
  }
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/`);
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.event === "connected") {
        const wasReconnect = everConnected;
        everConnected = true;
        retryDelay = 500;
        setConnection("live", "Live");
        if (state.roomId) joinRoom(state.roomId);
        // events between the page render (or the drop) and now
        catchUp().then(() => { if (wasReconnect) refreshOpenRoom(); }).catch((error) => {
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
        if (frame.data.reason === "not_visible") {
          state.rooms.delete(frame.data.room_id);
          state.order = state.order.filter((id) => id !== frame.data.room_id);
          renderRoomList();
          if (frame.data.room_id === state.roomId) toast("This room was reassigned to another agent.");
        }
        return;
      }
      if (frame.event === "pong") return;
      if (frame.cursor && frame.cursor <= state.cursor) return; // already applied via catch-up
      applyEvent(frame.event, frame.data, frame.cursor);
    };
    socket.onclose = (event) => {
      setConnection("offline", "Reconnecting…");
      // 4401: not signed in (any more); 4403: deactivated or another role: the page is redrawn
      // with what the user may see now (or the login page).
      if (event.code === 4401) { location.href = "/login/?next=/inbox/"; return; }
      if (event.code === 4403) { location.reload(); return; }
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    };
  }
  window.boztell.dropSocket = () => socket && socket.close();

  // --- wiring -----------------------------------------------------------------------------
  function autosize() {
    const t = $("#text");
    t.style.height = "auto";
    t.style.height = `${Math.min(t.scrollHeight, 140)}px`;
  }
  $("#composer").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  $("#text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  $("#text").addEventListener("input", () => { autosize(); typed(); });
  $("#file").addEventListener("change", (e) => { upload(e.target.files[0]); e.target.value = ""; });
  $("#template-button").addEventListener("click", openTemplates);
  $("#window-template").addEventListener("click", openTemplates);
  $("#template-select").addEventListener("change", fillTemplate);
  $("#template-send").addEventListener("click", sendTemplate);
  $("#reply-bar button").addEventListener("click", () => { state.replyTo = null; $("#reply-bar").hidden = true; });
  $("#back").addEventListener("click", () => { setView("list"); state.roomId = null; history.replaceState(null, "", "/inbox/"); renderRoomList(); });
  $("#toggle-lead").addEventListener("click", () => setView($("#app").dataset.view === "lead" ? "room" : "lead"));
  $("#messages").addEventListener("scroll", () => { if ($("#messages").scrollTop < 80) loadOlder(); });
  for (const button of document.querySelectorAll(".filters button")) {
    button.addEventListener("click", () => {
      state.filter = button.dataset.filter;
      for (const b of document.querySelectorAll(".filters button")) b.setAttribute("aria-selected", String(b === button));
      reloadRooms().catch((err) => toast(err.message, "error"));
    });
  }
  let searchTimer = null;
  $("#room-search").addEventListener("input", (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.query = e.target.value.trim(); reloadRooms().catch((err) => toast(err.message, "error")); }, 250);
  });
  window.addEventListener("focus", () => { if (state.roomId) markRead(); });

  for (const row of boot.rooms) upsertRoom(row);
  renderRoomList();
  connect();
  if (boot.room_id) openRoom(boot.room_id);
})();
