// The dashboard's charts, drawn by the vendored uPlot from the JSON the service serves.
// [data-chart=loss]: the training loss curve; [data-chart=evaluation]: success per task, policy
// beside the scripted expert; [data-chart=trajectory]: one episode's joint positions or actions
// (the episode chosen in #trajectory-episode). Each chart element gets data-points once drawn.
(function () {
  if (window.bpflowCharts) return;
  var charts = window.bpflowCharts = {};
  var PALETTE = ["#4f46e5", "#0891b2", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#db2777", "#475569", "#65a30d", "#0d9488"];

  function width(el) { return Math.max(320, Math.min(el.clientWidth || 900, 1100)); }

  function draw(el, opts, data) {
    if (charts[el.id]) charts[el.id].destroy();
    el.querySelectorAll(".uplot, .chart-empty").forEach(function (n) { n.remove(); });
    charts[el.id] = new uPlot(opts, data, el);
    el.dataset.points = String(data[0].length);
    el.dataset.series = String(data.length - 1);
  }

  function empty(el, text) {
    el.querySelectorAll(".uplot, .chart-empty").forEach(function (n) { n.remove(); });
    var p = document.createElement("div");
    p.className = "empty chart-empty";
    p.textContent = text;
    el.appendChild(p);
    el.dataset.points = "0";
  }

  function getJSON(url) {
    return fetch(url, { cache: "no-store" }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw new Error((j.error && j.error.message) || ("HTTP " + r.status)); return j; });
    });
  }

  function loss(el) {
    getJSON(el.dataset.src).then(function (j) {
      var d = j.loss;
      if (!d.step.length) { empty(el, "no loss points recorded"); return; }
      var logScale = Math.max.apply(null, d.loss) / Math.max(Math.min.apply(null, d.loss), 1e-12) > 10;
      draw(el, {
        title: "training loss", width: width(el), height: 260,
        scales: { x: { time: false }, y: logScale ? { distr: 3 } : {} },
        axes: [{ label: "step" }, { label: "loss" }],
        series: [{ label: "step" }, { label: "loss", stroke: PALETTE[0], width: 2, points: { show: d.step.length < 60 } }],
      }, [d.step, d.loss]);
    }).catch(function (e) { empty(el, "loss curve unavailable: " + e.message); });
  }

  function evaluation(el) {
    getJSON(el.dataset.src).then(function (j) {
      var e = j.evaluation;
      if (!e.tasks.length) { empty(el, "no evaluated tasks"); return; }
      var xs = e.tasks.map(function (_, i) { return i; });
      draw(el, {
        title: "success rate per task", width: width(el), height: 240,
        scales: { x: { time: false, range: [-0.6, e.tasks.length - 0.4] }, y: { range: [0, 1] } },
        axes: [{ values: function (u, ticks) { return ticks.map(function (t) { return e.tasks[t] || ""; }); }, splits: function () { return xs; } },
               { label: "success", values: function (u, ticks) { return ticks.map(function (t) { return Math.round(t * 100) + "%"; }); } }],
        series: [{ label: "task" },
          { label: "policy", fill: PALETTE[0], stroke: PALETTE[0], paths: uPlot.paths.bars({ size: [0.3, 60], align: 1 }), points: { show: false } },
          { label: "scripted expert", fill: PALETTE[2], stroke: PALETTE[2], paths: uPlot.paths.bars({ size: [0.3, 60], align: -1 }), points: { show: false } }],
      }, [xs, e.policy, e.expert]);
    }).catch(function (err) { empty(el, "evaluation unavailable: " + err.message); });
  }

  var trajectories = {};
  function trajectory(el, episode) {
    var url = el.dataset.src.replace("{episode}", encodeURIComponent(episode));
    (trajectories[url] = trajectories[url] || getJSON(url)).then(function (j) {
      var s = j.series[el.dataset.feature];
      if (!s) { empty(el, "the dataset has no " + el.dataset.feature); return; }
      var series = [{ label: "t (s)" }].concat(s.names.map(function (n, i) { return { label: n, stroke: PALETTE[i % PALETTE.length], width: 1.5 }; }));
      el.dataset.episode = String(episode);
      draw(el, {
        title: s.label + " · episode " + episode, width: width(el), height: 260,
        scales: { x: { time: false } }, axes: [{ label: "seconds" }, {}], series: series,
      }, [j.t].concat(s.values));
    }).catch(function (e) { empty(el, "trajectory unavailable: " + e.message); });
  }

  function init() {
    document.querySelectorAll("[data-chart=loss]").forEach(loss);
    document.querySelectorAll("[data-chart=evaluation]").forEach(evaluation);
    var pick = document.getElementById("trajectory-episode");
    var traj = document.querySelectorAll("[data-chart=trajectory]");
    if (traj.length && pick) {
      var show = function () { traj.forEach(function (el) { trajectory(el, pick.value); }); };
      pick.addEventListener("change", show);
      show();
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
