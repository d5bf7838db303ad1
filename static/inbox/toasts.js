// Feedback: toasts, and a sound plus a toast for news while the page is not in front.
import { $, el, pageFocused } from "./dom.js";

export function toast(text, kind = "", onclick = null, ms = 5000) {
  const node = el("div", { class: `toast ${kind}`, role: "status", text });
  node.addEventListener("click", () => { node.remove(); if (onclick) onclick(); });
  $("#toasts").append(node);
  window.boztell.toasts += 1;
  setTimeout(() => node.remove(), ms);
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

export function notify(text, onclick) {
  if (pageFocused()) return;
  ding();
  toast(text, "", onclick);
}
