// Draws ~1 km cells on a Leaflet map with a vendored world outline (no tile server:
// nothing is loaded from outside this site).
window.crowdrayCells = {
  map(id) {
    const el = document.getElementById(id);
    const map = L.map(el, { worldCopyJump: true, attributionControl: false }).setView([20, 0], 2);
    fetch(el.dataset.land)
      .then((reply) => reply.json())
      .then((topo) => {
        const land = topojson.feature(topo, topo.objects.land);
        L.geoJSON(land, { interactive: false, style: { color: "#9aa7b8", weight: 1, fillColor: "#f4f1ea", fillOpacity: 1 } })
          .addTo(map).bringToBack();
      })
      .catch((err) => console.warn("world outline unavailable", err));
    const layer = L.layerGroup().addTo(map);
    const view = { map, layer, points: [] };
    // Keep Leaflet's idea of the map's size right when the page layout changes.
    new ResizeObserver(() => {
      map.invalidateSize();
      if (view.points.length) map.fitBounds(view.points, { maxZoom: 11, padding: [20, 20], animate: false });
    }).observe(el);
    return view;
  },
  draw(view, cells, colour) {
    view.map.invalidateSize();  // the container may have been laid out after the map was made
    view.layer.clearLayers();
    const points = [];
    for (const c of cells) {
      const r = 3 + Math.min(8, Math.log10(1 + (c.hits || 1)) * 3);
      L.circleMarker([c.lat, c.lon], { radius: r, color: colour, weight: 1, fillOpacity: 0.7 })
        .bindTooltip(`${c.hits || 0} hits`).addTo(view.layer);
      points.push([c.lat, c.lon]);
    }
    view.points = points;
    if (points.length) view.map.fitBounds(points, { maxZoom: 11, padding: [20, 20], animate: false });
    return points.length;
  },
};
