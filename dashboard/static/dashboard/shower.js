// A shower page: the core cell, the cells of the phones that fired and of those that
// were taking data but did not, with a legend and a scale; and the hits' time profile.
(function () {
  const shower = JSON.parse(document.getElementById("shower-data").textContent);
  const view = crowdrayCells.map("map");
  const silent = L.layerGroup().addTo(view.map);
  for (const c of shower.silent_cells) {
    L.circleMarker([c.lat, c.lon], { radius: 5, color: "#8a8f98", weight: 1, fillOpacity: 0.3 })
      .bindTooltip(`${c.phones} phone${c.phones === 1 ? "" : "s"} taking data, no hit`).addTo(silent);
  }
  crowdrayCells.draw(view, shower.member_cells, "#3451b2");
  L.circleMarker([shower.lat, shower.lon], { radius: 9, color: "#c2410c", weight: 3, fill: false })
    .bindTooltip("estimated core").addTo(view.layer);
  L.control.scale({ metric: true, imperial: false }).addTo(view.map);
  const legend = L.control({ position: "bottomleft" });
  legend.onAdd = () => {
    const div = L.DomUtil.create("div", "legend");
    div.innerHTML = '<span class="dot fired"></span> phones with a hit' +
      '<br><span class="dot silent"></span> taking data, no hit' +
      '<br><span class="dot core"></span> estimated core (~1 km cell)';
    return div;
  };
  legend.addTo(view.map);

  const profile = document.getElementById("profile");
  const chart = profile && new Chart(profile, {
    type: "scatter",
    data: { datasets: [{ label: "hits", data: shower.time_profile_ms.map((ms, i) => ({ x: ms, y: i + 1 })),
                         backgroundColor: "#3451b2" }] },
    options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } },
      scales: { x: { title: { display: true, text: "ms after the shower time" } },
                y: { title: { display: true, text: "hit" }, ticks: { precision: 0 } } } },
  });
  window.crowdray = { view, chart };
})();
