// A shower page: its core cell and the cells of its member hits.
(function () {
  const shower = JSON.parse(document.getElementById("shower-data").textContent);
  const view = crowdrayCells.map("map");
  crowdrayCells.draw(view, shower.member_cells, "#3451b2");
  L.circleMarker([shower.lat, shower.lon], { radius: 9, color: "#c2410c", weight: 3, fill: false })
    .bindTooltip("estimated core").addTo(view.layer);
  window.crowdray = { view };
})();
