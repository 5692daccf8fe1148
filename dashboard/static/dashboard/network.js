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
      scales: { y: { beginAtZero: true, position: "left" },
                y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } } },
  });

  function label(seconds) {
    return new Date(seconds * 1000).toISOString().slice(11, 16);
  }

  function row(s) {
    const tr = document.createElement("tr");
    const link = document.createElement("a");
    link.href = `/showers/${encodeURIComponent(s.shower_id)}/`;
    link.textContent = s.time.replace("T", " ").replace("Z", " UTC");  // as the server writes it
    const when = [link];
    if (s.provisional) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.title = "Found by the live search; a full search will confirm it";
      badge.textContent = "provisional";
      when.push(" ", badge);
    }
    for (const value of [when, s.place, s.n_devices, s.n_hits, s.significance_sigma]) {
      const td = document.createElement("td");
      td.append(...[value].flat());
      tr.append(td);
    }
    return tr;
  }

  function render(status) {
    for (const el of document.querySelectorAll("[data-field]")) {
      el.textContent = status[el.dataset.field];
    }
    document.getElementById("generated-at").textContent = status.generated_at;
    chart.data.labels = status.series.minutes.map(label);
    chart.data.datasets[0].data = status.series.hits;
    chart.data.datasets[1].data = status.series.devices;
    chart.update();
    crowdrayCells.draw(view, status.cells, "#3451b2");
    const latest = document.getElementById("latest");
    if (status.latest_showers.length) latest.replaceChildren(...status.latest_showers.map(row));
  }

  async function refresh() {
    try {
      const reply = await fetch("/api/v1/status", { headers: { Accept: "application/json" } });
      if (reply.ok) render(await reply.json());
    } catch (err) {
      console.warn("status refresh failed, will retry", err);
    }
  }

  render(JSON.parse(document.getElementById("status-data").textContent));
  window.crowdray = { refresh, chart, view };
  setInterval(refresh, every * 1000);
})();
