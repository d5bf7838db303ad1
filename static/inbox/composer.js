// The composer: text (Enter sends), replies, media upload with a progress bar, templates,
// typing, and what the 24-hour window allows, as the server says (room.window_open).
// Two modes: Reply (a WhatsApp message; "/" opens quick replies) and Private note (only
// the team sees it; "@" mentions a colleague; the window does not apply).
import { $, el } from "./dom.js";
import { api, csrf } from "./api.js";
import { openRoomRow, state } from "./state.js";
import { addMessage, addNote, refreshOpenRoom } from "./messages.js";
import { mentionInput } from "./mentions.js";
import { clearQuickReply, quickReplyInput, quickReplyKey, showUnfilled } from "./quick-replies.js";
import { socketSend } from "./socket.js";
import { hideSuggestions, suggestKey } from "./suggest.js";
import { toast } from "./toasts.js";

const noteMode = () => state.composeMode === "note";

// Free-form text and media while the window is open; else only a template. A note is
// never sent to WhatsApp: the window does not apply to it.
export function showWindow(room) {
  const open = Boolean(room && room.window_open);
  const note = noteMode();
  $("#window-closed").hidden = open || note;
  $("#text").disabled = !open && !note;
  $("#send").disabled = !open && !note;
  $("#file").disabled = !open || note;
  $("#composer").classList.toggle("note-mode", note);
  $("#send").textContent = note ? "Add note" : "Send";
  $("#compose-hint").textContent = note ? "Only your team sees notes · @ mentions" : "Type / for quick replies";
  $("#text").placeholder = note ? "Private note for your team (@name to mention)" : open ? "Type a message" : "Window closed: send a template";
  $("#text").setAttribute("aria-label", note ? "Private note (Enter adds it; not sent to the customer)" : "Message (Enter sends, Shift+Enter for a new line)");
}

export function setComposeMode(mode) {
  state.composeMode = mode === "note" ? "note" : "reply";
  for (const b of document.querySelectorAll(".compose-mode button")) b.setAttribute("aria-selected", String(b.dataset.mode === state.composeMode));
  hideSuggestions();
  clearQuickReply();
  showWindow(openRoomRow());
  $("#text").focus();
}

function autosize() {
  const t = $("#text");
  t.style.height = "auto";
  t.style.height = `${Math.min(t.scrollHeight, 140)}px`;
}

export function clearReply() {
  state.replyTo = null;
  $("#reply-bar").hidden = true;
}

function setReply(m) {
  state.replyTo = m;
  const bar = $("#reply-bar");
  bar.hidden = false;
  $("span", bar).textContent = `Replying to: ${m.content_text || m.content_type}`;
  $("#text").focus();
}

async function addPrivateNote(text) {
  const input = $("#text");
  const roomId = state.roomId;
  input.value = "";
  autosize();
  $("#send").disabled = true;
  try {
    const note = await api("POST", `/rooms/${roomId}/notes`, { text });
    if (note.room_id === state.roomId) addNote(note);
    if (note.not_notified && note.not_notified.length) {
      toast(`Not notified (no such colleague, or they cannot see this room): ${note.not_notified.map((n) => `@${n}`).join(", ")}`);
    }
  } catch (err) {
    toast(err.message, "error");
    input.value = text;
  } finally {
    $("#send").disabled = false;
    input.focus();
  }
}

async function send() {
  const input = $("#text");
  const text = input.value.trim();
  if (!text || !state.roomId) return;
  hideSuggestions();
  if (noteMode()) { addPrivateNote(text); return; }
  const room = openRoomRow();
  const body = { room_id: room.room_id, text };
  if (state.replyTo) body.reply_to = state.replyTo.wa_message_id;
  input.value = "";
  autosize();
  $("#send").disabled = true;
  stopTyping();
  try {
    const message = await api("POST", "/messages/send", body);
    clearReply();
    clearQuickReply();
    if (message.room_id === state.roomId) addMessage(message);
  } catch (err) {
    toast(err.message, "error");
    const details = (err.data && err.data.error && err.data.error.details) || {};
    if (details.message_id) refreshOpenRoom();
    else {
      input.value = text;
      autosize();
      // The server would not send a quick reply's placeholder: select it to fill.
      if (err.code === "unfilled_placeholder") showUnfilled(details.placeholders);
    }
  } finally {
    $("#send").disabled = !(openRoomRow() || {}).window_open;
    if (document.activeElement !== input) input.focus();
  }
}

function upload(file) {
  const room = openRoomRow();
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

// --- templates -----------------------------------------------------------------------------
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
  const room = openRoomRow();
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

// --- typing ----------------------------------------------------------------------------------
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
function renderTyping(name) {
  const n = typingPeople.size;
  $("#typing").textContent = n === 0 ? "" : n === 1 ? `${name || "Someone"} is typing…` : `${n} people are typing…`;
}

export function showTyping(data) {
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

export function wireComposer() {
  $("#composer").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  $("#text").addEventListener("keydown", (e) => {
    if (e.isComposing || suggestKey(e) || quickReplyKey(e)) return;
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); }
  });
  $("#text").addEventListener("input", () => {
    autosize();
    if (noteMode()) mentionInput();
    else { typed(); quickReplyInput(); }
  });
  $("#text").addEventListener("blur", () => hideSuggestions());
  for (const b of document.querySelectorAll(".compose-mode button")) b.addEventListener("click", () => setComposeMode(b.dataset.mode));
  $("#file").addEventListener("change", (e) => { upload(e.target.files[0]); e.target.value = ""; });
  $("#template-button").addEventListener("click", openTemplates);
  $("#window-template").addEventListener("click", openTemplates);
  $("#template-select").addEventListener("change", fillTemplate);
  $("#template-send").addEventListener("click", sendTemplate);
  $("#reply-bar button").addEventListener("click", clearReply);
  document.addEventListener("boztell:reply", (e) => setReply(e.detail));
}
