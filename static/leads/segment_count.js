// The segment editor's live count: every change asks the server how many leads match.
(function () {
  "use strict";
  function start() {
    const out = document.getElementById("segment-live-count");
    const form = out && out.closest("form");
    if (!form) return;
    let timer = null;
    let seq = 0;
    async function count() {
      const mine = ++seq;
      const params = new URLSearchParams();
      for (const [name, value] of new FormData(form)) {
        if (name !== "csrfmiddlewaretoken" && typeof value === "string") params.append(name, value);
      }
      try {
        const response = await fetch(`${out.dataset.countUrl}?${params}`, { credentials: "same-origin" });
        const body = await response.json();
        if (mine !== seq) return;
        out.textContent = body.count === null ? body.error : `${body.count.toLocaleString("id-ID")} leads match`;
        out.dataset.count = body.count === null ? "" : String(body.count);
      } catch (err) {
        if (mine === seq) out.textContent = "Could not count the leads.";
      }
    }
    form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(count, 300); });
    form.addEventListener("change", () => { clearTimeout(timer); timer = setTimeout(count, 300); });
    count();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
