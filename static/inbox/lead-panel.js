// The lead panel: the customer's lead, its statuses, who is assigned, claim / reassign.
import { $, el, setView } from "./dom.js";
import { api } from "./api.js";
import { contactLine, idr, moment } from "./format.js";
import { me, openRoomRow, state, upsertRoom } from "./state.js";
import { renderRoomList } from "./room-list.js";
import { toast } from "./toasts.js";

const LEADS_STATUSES = ["new", "cold", "warm", "hot", "collection", "paid", "lost"];
const CONTACT_STATUSES = ["uncontacted", "contacted", "promise_to_pay", "unreachable", "do_not_contact"];

function statusSelect(name, value, options, leadId) {
  const all = value && !options.includes(value) ? [value, ...options] : options;
  return el("select", { name, "aria-label": name.replace("_", " "), onchange: async (e) => {
    try {
      const lead = await api("PATCH", `/leads/${leadId}`, { [name]: e.target.value });
      const room = openRoomRow();
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

// A customer with no lead (a username customer shows no number): link the borrower by
// the phone number they tell the agent. Only an exact number links; agents do not browse
// other borrowers.
function linkLeadForm(room) {
  const input = el("input", { type: "tel", name: "lead_phone", placeholder: "Borrower's phone, e.g. 0812…", "aria-label": "Borrower's phone number", autocomplete: "off" });
  return el("form", { class: "link-lead", id: "link-lead", onsubmit: async (e) => {
    e.preventDefault();
    try {
      const row = await api("POST", `/rooms/${room.room_id}/lead`, { phone: input.value });
      upsertRoom(row);
      renderRoomList();
      renderLeadPanel();
      toast("Lead linked");
    } catch (err) { toast(err.message, "error"); }
  } }, input, el("button", { class: "small", type: "submit" }, "Link lead"));
}

// Who changed the lead's fields and when (GET /leads/{id}/history), loaded when opened.
function historyValue(value) {
  if (value === null || value === undefined || value === "") return "—";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function leadHistory(lead) {
  const list = el("ol", { class: "lead-history-list" });
  const box = el("details", { class: "lead-history", id: "lead-history" }, el("summary", { text: "History of changes" }), list);
  box.addEventListener("toggle", async () => {
    if (!box.open || box.dataset.loaded) return;
    box.dataset.loaded = "true";
    try {
      const { results } = await api("GET", `/leads/${lead.id}/history`);
      if (!results.length) list.append(el("li", { class: "muted", text: "No changes yet." }));
      for (const entry of results) {
        const who = entry.by || "an import";
        const what = entry.kind === "created" ? "created the lead"
          : entry.changes.map((c) => `${c.field.replaceAll("_", " ")}: ${historyValue(c.old)} → ${historyValue(c.new)}`).join("; ");
        list.append(el("li", {}, el("time", { datetime: entry.at, text: moment(entry.at) }), ` ${who}: ${what}`));
      }
    } catch (err) { toast(err.message, "error"); }
  });
  return box;
}

export function renderLeadPanel() {
  const panel = $("#lead-panel");
  const room = openRoomRow();
  // A live event for this room redraws the panel: what the agent is typing into the
  // link form stays (it was wiped between typing and pressing "Link lead").
  const typing = panel.querySelector("#link-lead input");
  const kept = typing && room && panel.dataset.roomId === room.room_id
    ? { value: typing.value, focused: document.activeElement === typing } : null;
  panel.replaceChildren();
  if (!room) { delete panel.dataset.roomId; return; }
  panel.dataset.roomId = room.room_id;
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
    panel.append(leadHistory(lead));
  } else {
    panel.append(el("p", { class: "muted", text: room.room_phone ? "No lead has this number yet." : "This customer shows no phone number." }));
    const form = linkLeadForm(room);
    panel.append(form);
    if (kept) {
      const input = form.querySelector("input");
      input.value = kept.value;
      if (kept.focused) input.focus();
    }
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

// A presence change: the dots of that user in the panel.
export function showPresence(userId, online) {
  const user = state.team.get(userId);
  if (user) user.online = online;
  for (const dot of document.querySelectorAll(`.presence[data-user="${userId}"]`)) dot.dataset.online = String(online);
}
