// The server's clock, as the page knows it. The server decides every time rule (the
// 24-hour window is `window_open`); the page only waits for a deadline the server sent
// (`window_closes_at`), timed against the server's clock, so a browser whose own clock is
// off (a wrong date, another zone set by hand) still follows the server.

let offset = 0; // server time minus browser time, in ms

export function syncClock(serverIso) {
  if (serverIso) offset = new Date(serverIso).getTime() - Date.now();
}

export const serverNow = () => Date.now() + offset;

export const msUntil = (iso) => new Date(iso).getTime() - serverNow();
