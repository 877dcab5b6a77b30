// The dashboard's only script: served from /static so the page's CSP can forbid inline scripts.
(function () {
  // Live regions: poll the same page with ?partial=1 and swap when it changed.
  document.querySelectorAll("[data-live]").forEach(function (el) {
    var every = parseInt(el.getAttribute("data-every") || "1000", 10), last = null;
    var dot = document.querySelector(".live-dot");
    function tick() {
      if (document.visibilityState !== "visible") { setTimeout(tick, every); return; }
      fetch(el.getAttribute("data-live"), {cache: "no-store", headers: {"Accept": "text/html"}})
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          if (html !== last) { last = html; el.innerHTML = html; }
          if (dot) { dot.classList.remove("stale"); dot.textContent = "live"; }
        })
        .catch(function () { if (dot) { dot.classList.add("stale"); dot.textContent = "reconnecting"; } })
        .finally(function () { setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  });
  // Marker viewer: open a marker's content in the side panel (the link works without script too).
  var panel = document.getElementById("marker-panel");
  document.addEventListener("click", function (ev) {
    if (ev.target.closest("[data-close]")) { panel.hidden = true; return; }
    var a = ev.target.closest("a[data-marker]");
    if (!a || ev.ctrlKey || ev.metaKey) return;
    ev.preventDefault();
    panel.querySelector(".panel-title").textContent = a.getAttribute("data-key") || a.textContent;
    panel.querySelector(".panel-meta").textContent = "";
    panel.querySelector("pre").textContent = "loading…";
    panel.hidden = false;
    fetch(a.getAttribute("data-marker"), {cache: "no-store"}).then(function (r) { return r.json().then(function (j) { return [r, j]; }); })
      .then(function (rj) {
        var r = rj[0], j = rj[1];
        if (!r.ok) { panel.querySelector("pre").textContent = (j.error && j.error.message) || ("HTTP " + r.status); return; }
        panel.querySelector(".panel-meta").textContent = "generation " + j.generation + " · " + j.size + " bytes · updated " + new Date(j.updated * 1000).toISOString().replace(".000", "");
        panel.querySelector("pre").textContent = j.kind === "json" ? JSON.stringify(j.body, null, 2) : j.body;
      });
  });
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") panel.hidden = true; });
})();
