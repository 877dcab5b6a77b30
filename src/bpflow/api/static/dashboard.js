// The dashboard's only script: served from /static so the page's CSP can forbid inline scripts.
(function () {
  // Times: the server writes UTC; show them in the browser's zone, UTC on hover.
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function zoneName(d) {
    try { return new Intl.DateTimeFormat(undefined, {timeZoneName: "short"}).formatToParts(d).filter(function (p) { return p.type === "timeZoneName"; })[0].value; }
    catch (e) { return ""; }
  }
  function localTimes(root) {
    (root || document).querySelectorAll("time[data-epoch]").forEach(function (t) {
      if (t.getAttribute("data-local") === "1") return;
      var d = new Date(parseFloat(t.getAttribute("data-epoch")) * 1000);
      if (isNaN(d.getTime())) return;
      var hms = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
      var day = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
      t.textContent = (t.getAttribute("data-short") === "1" ? hms : day + " " + hms) + " " + zoneName(d);
      t.setAttribute("data-local", "1");
    });
  }
  window.bpflowLocalTimes = localTimes;

  // Collapsible parts the reader opened or closed keep that state across live refreshes.
  var userOpen = {};
  document.addEventListener("toggle", function (ev) {
    var d = ev.target;
    if (d.tagName === "DETAILS" && d.id && d.getAttribute("data-restoring") !== "1") userOpen[d.id] = d.open;
  }, true);
  function restoreOpen(root) {
    Object.keys(userOpen).forEach(function (id) {
      var d = root.querySelector("#" + CSS.escape(id));
      if (d && d.open !== userOpen[id]) { d.setAttribute("data-restoring", "1"); d.open = userOpen[id]; setTimeout(function () { d.removeAttribute("data-restoring"); }, 0); }
    });
  }

  // Log search: keep the lines that match (highlighted), open the logs that have any.
  function applySearch(typed) {
    var search = document.getElementById("log-search");
    if (!search) return;
    var term = search.value.trim().toLowerCase(), hits = 0, logs = 0;
    document.querySelectorAll("pre.log").forEach(function (pre) {
      if (!pre.hasAttribute("data-raw")) pre.setAttribute("data-raw", pre.textContent);
      var raw = pre.getAttribute("data-raw");
      pre.textContent = "";
      if (!term) { pre.textContent = raw; return; }
      var found = 0;
      raw.split("\n").forEach(function (line) {
        var at = line.toLowerCase().indexOf(term);
        if (at < 0) return;
        found++;
        var span = document.createElement("span");
        span.className = "hit-line";
        span.appendChild(document.createTextNode(line.slice(0, at)));
        var mark = document.createElement("mark");
        mark.textContent = line.slice(at, at + term.length);
        span.appendChild(mark);
        span.appendChild(document.createTextNode(line.slice(at + term.length)));
        pre.appendChild(span);
      });
      if (!found) pre.textContent = "(no line matches)";
      var details = pre.closest("details");
      if (typed && details && found) details.open = true;
      hits += found; if (found) logs++;
    });
    var count = document.getElementById("log-search-count");
    if (count) count.textContent = term ? hits + " matching line" + (hits === 1 ? "" : "s") + " in " + logs + " log" + (logs === 1 ? "" : "s") : "";
  }
  document.addEventListener("input", function (ev) { if (ev.target.id === "log-search") applySearch(true); });
  // The search box lives in the live region: its text, focus and caret survive a refresh.
  function keepSearch(el) {
    var box = el.querySelector("#log-search");
    if (!box) return function () {};
    var value = box.value, focused = document.activeElement === box, start = box.selectionStart, end = box.selectionEnd;
    return function () {
      var again = el.querySelector("#log-search");
      if (!again) return;
      again.value = value;
      if (focused) { again.focus(); try { again.setSelectionRange(start, end); } catch (e) { /* not a text field */ } }
    };
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-logs]");
    if (!b) return;
    var open = b.getAttribute("data-logs") === "open";
    document.querySelectorAll("details.job-log").forEach(function (d) { d.open = open; if (d.id) userOpen[d.id] = open; });
  });

  // Live regions: poll the same page with ?partial=1 and swap when it changed.
  document.querySelectorAll("[data-live]").forEach(function (el) {
    var every = parseInt(el.getAttribute("data-every") || "1000", 10), last = null;
    var dot = document.querySelector(".live-dot");
    function tick() {
      if (document.visibilityState !== "visible") { setTimeout(tick, every); return; }
      fetch(el.getAttribute("data-live"), {cache: "no-store", headers: {"Accept": "text/html"}})
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          if (html !== last) { var restore = keepSearch(el); last = html; el.innerHTML = html; restore(); restoreOpen(el); localTimes(el); applySearch(); }
          if (dot) { dot.classList.remove("stale"); dot.textContent = "live"; }
        })
        .catch(function () { if (dot) { dot.classList.add("stale"); dot.textContent = "reconnecting"; } })
        .finally(function () { setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  });

  // Retry / cancel: POST to the API from this page (same origin: the session cookie or, with no
  // token configured, loopback access authorises it; another site's page cannot).
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-run-action]");
    if (!b) return;
    var action = b.getAttribute("data-run-action"), out = document.getElementById("run-action-result");
    if (action === "cancel" && !window.confirm("Cancel this run?")) return;
    b.disabled = true;
    if (out) out.textContent = action === "retry" ? "starting…" : "cancelling…";
    fetch(b.getAttribute("data-url"), {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json", "Accept": "application/json"}, body: "{}"})
      .then(function (r) { return r.json().then(function (j) { return [r, j]; }, function () { return [r, {}]; }); })
      .then(function (rj) {
        var r = rj[0], j = rj[1];
        if (r.status === 401) { if (out) out.innerHTML = 'Sign in first: <a href="/login?next=' + encodeURIComponent(location.pathname) + '">sign in</a>'; b.disabled = false; return; }
        if (!r.ok) { if (out) out.textContent = (j.error && (j.error.code + ": " + j.error.message)) || ("HTTP " + r.status); b.disabled = false; return; }
        if (action === "retry" && j.run_id) { location.href = "/runs/" + encodeURI(j.run_id); return; }
        if (out) out.textContent = "cancelled";
      })
      .catch(function (e) { if (out) out.textContent = "failed: " + e; b.disabled = false; });
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
        var when = new Date(j.updated * 1000);
        panel.querySelector(".panel-meta").textContent = "generation " + j.generation + " · " + j.size + " bytes · updated " + when.toLocaleString() + " (" + when.toISOString().replace(".000", "") + ")";
        panel.querySelector("pre").textContent = j.kind === "json" ? JSON.stringify(j.body, null, 2) : j.body;
      });
  });
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") panel.hidden = true; });
  localTimes(document);
})();
