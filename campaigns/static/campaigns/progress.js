// A campaign's live progress in admin: GET the campaign (session auth) every second and
// show its counts. A static file: the CSP runs no inline script.
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("campaign-progress");
    if (!box) return;
    var url = box.getAttribute("data-url");
    var bar = document.getElementById("campaign-progress-bar");
    function show(p) {
      bar.value = p.percent;
      bar.textContent = p.percent + "%";
      ["status", "status_reason", "percent", "total"].forEach(function (name) {
        var el = box.querySelector('[data-field="' + name + '"]');
        if (el) el.textContent = p[name];
      });
      Object.keys(p.counts).forEach(function (name) {
        var cell = box.querySelector('[data-count="' + name + '"]');
        if (cell) cell.textContent = p.counts[name];
      });
      var reasons = box.querySelector('[data-field="failed_by_reason"]');
      if (reasons) {
        reasons.textContent = Object.keys(p.failed_by_reason)
          .map(function (k) { return k + ": " + p.failed_by_reason[k]; })
          .join(" ");
      }
    }
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (c) { if (c) show(c.progress); })
        .catch(function () {})
        .finally(function () { setTimeout(poll, 1000); });
    }
    poll();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
