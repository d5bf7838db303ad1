// Formatting: times in the agent's own time zone, money in IDR, sizes, previews.
import { serverNow } from "./clock.js";

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
export const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone: zone });
export const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: zone });
const shortDayFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone: zone });
const dayKeyFmt = new Intl.DateTimeFormat("en-CA", { timeZone: zone });
export const dayKey = (d) => dayKeyFmt.format(d);
export const idr = new Intl.NumberFormat("id-ID", { style: "currency", currency: "IDR", maximumFractionDigits: 0 });

const isToday = (d) => dayKey(d) === dayKey(new Date(serverNow()));

// The room list's time: the time today, else the day.
export function shortTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isToday(d) ? timeFmt.format(d) : shortDayFmt.format(d);
}

// A moment to the minute: the time today, else the day and the time.
export function moment(iso) {
  const d = new Date(iso);
  return isToday(d) ? timeFmt.format(d) : `${shortDayFmt.format(d)} ${timeFmt.format(d)}`;
}

export function size(bytes) {
  if (!bytes && bytes !== 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const TYPE_ICONS = { image: "📷", video: "🎬", audio: "🎤", document: "📄", sticker: "💟", location: "📍", contacts: "👤", template: "▤", reaction: "", interactive: "☑", button: "☑" };
export const preview = (type, text) => `${TYPE_ICONS[type] ? TYPE_ICONS[type] + " " : ""}${text || type || ""}`;

// The customer as Meta shows them: +number, else @username (a BSUID is never shown).
export function contactLine(room) {
  if (room.room_phone) return `+${room.room_phone}`;
  return room.room_username ? `@${room.room_username}` : "WhatsApp username";
}
