// The network page: draws the map and chart from the server's data, then
// refreshes counters, chart, map and latest showers from /api/v1/status.
(function () {
  const script = document.currentScript;
  const every = Math.max(1, Math.min(300, Number(script.dataset.refreshSeconds) || 30));
  const view = crowdrayCells.map("map");
  const chart = new Chart(document.getElementById("chart"), {
    type: "line",
    data: { labels: [], datasets: [
      { label: "Hits per minute", data: [], borderColor: "#3451b2", pointRadius: 0, yAxisID: "y" },
      { label: "Active phones", data: [], borderColor: "#c2410c", pointRadius: 0, yAxisID: "y1" },
    ] },
    options: { animation: false, responsive: true, interaction: { mode: "index", intersect: false },
      plugins: { tooltip: { callbacks: { title: (items) => label(Number(items[0].label)) } } },
      scales: { x: { ticks: { autoSkip: false, maxRotation: 0, callback: tick } },
                y: { beginAtZero: true, position: "left" },
                y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } } },
  });

  // ISO 8601 UTC as the server writes times on its pages: "2026-11-22 23:37:50.712 UTC".
  function when(iso) {
    return iso.replace("T", " ").replace("Z", " UTC");
  }

  function label(seconds) {
    return new Date(seconds * 1000).toISOString().slice(11, 16);
  }

  // Ticks on round times only: about eight across the chart, every 5 min to 6 h.
  let step = 60;
  function tick(value, index) {
    const seconds = Number(this.getLabelForValue(value));
    return (seconds / 60) % step === 0 ? label(seconds) : null;
  }

  // When most of the day is empty, show the active part (from the hour before its start).
  function firstShown(series) {
    const n = series.minutes.length;
    const first = series.hits.findIndex((h, i) => h > 0 || series.devices[i] > 0);
    if (first < 0 || n - first >= n / 2) return 0;
    const hour = Math.floor(series.minutes[Math.max(0, first - 1)] / 3600) * 3600;
    return Math.max(0, series.minutes.findIndex((m) => m >= hour));
  }

  function row(s) {
    const tr = document.createElement("tr");
    const link = document.createElement("a");
    link.href = `/showers/${encodeURIComponent(s.shower_id)}/`;
    link.textContent = when(s.time);
    const first = [link];
    if (s.provisional) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.title = "Found by the live search; a full search will confirm it";
      badge.textContent = "provisional";
      first.push(" ", badge);
    }
    for (const [k, value] of [first, s.place, s.n_devices, s.n_hits, s.significance_sigma].entries()) {
      const td = document.createElement("td");
      if (k === 3) td.className = "n-hits";  // hidden on a phone screen (style.css)
      td.append(...[value].flat());
      tr.append(td);
    }
    return tr;
  }

  function render(status) {
    for (const el of document.querySelectorAll("[data-field]")) {
      el.textContent = status[el.dataset.field];
    }
    document.getElementById("generated-at").textContent = when(status.generated_at);
    const series = status.series;
    const start = firstShown(series);
    const shown = series.minutes.length - start;
    step = [5, 10, 15, 30, 60, 120, 180, 240].find((s) => shown / s <= 9) || 360;
    chart.data.labels = series.minutes.slice(start);
    chart.data.datasets[0].data = series.hits.slice(start);
    chart.data.datasets[1].data = series.devices.slice(start);
    chart.update();
    world = status;
    if (view.moved && status.cells_deg > 0.01) showView();
    else crowdrayCells.draw(view, status.cells, "#3451b2", status.cells_deg);
    const latest = document.getElementById("latest");
    if (status.latest_showers.length) latest.replaceChildren(...status.latest_showers.map(row));
  }

  // With more active cells than a page draws, the status's map holds squares of cells;
  // zoomed in, the map asks for the cells of its view (merged by the view's size).
  let world = null;
  async function showView() {
    try {
      const box = crowdrayCells.bbox(view).map((v) => v.toFixed(4)).join(",");
      const reply = await fetch(`/api/v1/cells?bbox=${box}`, { headers: { Accept: "application/json" } });
      if (reply.ok) {
        const shown = await reply.json();
        crowdrayCells.draw(view, shown.cells, "#3451b2", shown.cells_deg);
      }
    } catch (err) {
      console.warn("cells of the view unavailable, will retry", err);
    }
  }
  view.map.on("moveend", () => {
    if (!view.ours && world && world.cells_deg > 0.01) showView();
  });

  async function refresh() {
    try {
      const reply = await fetch("/api/v1/status", { headers: { Accept: "application/json" } });
      if (reply.ok) render(await reply.json());
    } catch (err) {
      console.warn("status refresh failed, will retry", err);
    }
  }

  render(JSON.parse(document.getElementById("status-data").textContent));
  window.crowdray = { refresh, chart, view, showView };
  setInterval(refresh, every * 1000);
})();
