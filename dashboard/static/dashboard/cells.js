// Draws ~1 km cells on a Leaflet map with a vendored world outline (no tile server:
// nothing is loaded from outside this site).
window.crowdrayCells = {
  map(id) {
    const el = document.getElementById(id);
    const map = L.map(el, { worldCopyJump: true, attributionControl: false }).setView([20, 0], 2);
    fetch(el.dataset.land)
      .then((reply) => reply.json())
      .then((topo) => {
        const land = crowdrayCells.unwrap(topojson.feature(topo, topo.objects.land));
        // A copy either side, so that a view across ±180° (Europe to Fiji the short way) has land.
        const copies = [-360, 0, 360].flatMap((d) => crowdrayCells.shifted(land, d).features);
        view.land = L.geoJSON({ type: "FeatureCollection", features: copies }, { interactive: false, style: { color: "#9aa7b8", weight: 1, fillColor: "#f4f1ea", fillOpacity: 1 } })
          .addTo(map).bringToBack();
      })
      .catch((err) => console.warn("world outline unavailable", err));
    const layer = L.layerGroup().addTo(map);
    const view = { map, layer, points: [], land: null, ours: false, moved: false };
    // Keep Leaflet's idea of the map's size right when the page layout changes.
    new ResizeObserver(() => {
      crowdrayCells.ours(view, () => map.invalidateSize());
      if (view.points.length && !view.moved) crowdrayCells.fit(view);
    }).observe(el);
    // A move the reader made (not one of ours) ends the fitting to the data.
    map.on("moveend", () => { if (!view.ours) view.moved = true; });
    return view;
  },
  // A ring that crosses ±180° (Fiji, Chukotka) jumps by ~360° of longitude between two
  // points, which Leaflet draws as a line across the world: keep each ring's
  // longitudes continuous instead (the piece past 180° is drawn just beyond it).
  unwrapRing(ring) {
    const out = [ring[0].slice()];
    for (let i = 1; i < ring.length; i++) {
      let lon = ring[i][0];
      const prev = out[i - 1][0];
      while (lon - prev > 180) lon -= 360;
      while (lon - prev < -180) lon += 360;
      out.push([lon, ring[i][1]]);
    }
    return out;
  },
  // A copy of a FeatureCollection moved by d degrees of longitude.
  shifted(geo, d) {
    const move = (c) => (typeof c[0] === "number" ? [c[0] + d, c[1]] : c.map(move));
    return {
      type: "FeatureCollection",
      features: geo.features.map((f) => ({ ...f, geometry: { ...f.geometry, coordinates: move(f.geometry.coordinates) } })),
    };
  },
  // [lat, lon] points with longitudes moved by whole turns onto the shortest arc that holds
  // them all: the arc starts after the widest empty gap of longitude round the globe.
  shortestArc(points) {
    const wrap = (lon) => ((((lon + 180) % 360) + 360) % 360) - 180;
    const lons = points.map((p) => wrap(p[1])).sort((a, b) => a - b);
    if (!lons.length) return [];
    let gap = 360 - (lons[lons.length - 1] - lons[0]);
    let start = lons[0];
    for (let i = 1; i < lons.length; i++) {
      if (lons[i] - lons[i - 1] > gap) { gap = lons[i] - lons[i - 1]; start = lons[i]; }
    }
    return points.map(([lat, lon]) => [lat, wrap(lon) < start ? wrap(lon) + 360 : wrap(lon)]);
  },
  unwrap(geo) {
    for (const feature of geo.features || [geo]) {
      const g = feature.geometry || feature;
      if (g.type === "Polygon") g.coordinates = g.coordinates.map((r) => crowdrayCells.unwrapRing(r));
      if (g.type === "MultiPolygon") g.coordinates = g.coordinates.map((p) => p.map((r) => crowdrayCells.unwrapRing(r)));
    }
    return geo;
  },
  // The largest longitude step between consecutive points of the drawn outline, degrees.
  widestStep(view) {
    let widest = 0;
    const walk = (ll) => {
      if (Array.isArray(ll[0])) { ll.forEach(walk); return; }
      for (let i = 1; i < ll.length; i++) widest = Math.max(widest, Math.abs(ll[i].lng - ll[i - 1].lng));
    };
    if (view.land) view.land.eachLayer((layer) => walk(layer.getLatLngs()));
    return widest;
  },
  // Run fn, whose moves of the map (a fit, a resize) are not the reader's.
  ours(view, fn) {
    view.ours = true;
    try {
      fn();
    } finally {
      view.ours = false;
    }
  },
  fit(view) {
    crowdrayCells.ours(view, () => view.map.fitBounds(view.points, { maxZoom: 11, padding: [20, 20], animate: false }));
  },
  // Draw cells (or squares of cellsDeg degrees, when more than a page can draw were merged).
  // Fitted to the data unless the reader has moved the map: then kept where they are,
  // each cell at the copy of its longitude nearest the view's centre.
  draw(view, cells, colour, cellsDeg = 0.01) {
    // The container may have been laid out after the map was made.
    crowdrayCells.ours(view, () => view.map.invalidateSize());
    view.layer.clearLayers();
    let points = crowdrayCells.shortestArc(cells.map((c) => [c.lat, c.lon]));
    if (view.moved) {
      const centre = view.map.getCenter().lng;
      points = cells.map((c) => [c.lat, c.lon + 360 * Math.round((centre - c.lon) / 360)]);
    }
    const square = cellsDeg > 0.01 ? ` in a ${cellsDeg}° square` : "";
    for (const [k, c] of cells.entries()) {
      const r = 3 + Math.min(8, Math.log10(1 + (c.hits || 1)) * 3);
      L.circleMarker(points[k], { radius: r, color: colour, weight: 1, fillOpacity: 0.7 })
        .bindTooltip(`${c.hits || 0} hits${square}`).addTo(view.layer);
    }
    view.points = points;
    view.cellsDeg = cellsDeg;
    if (points.length && !view.moved) crowdrayCells.fit(view);
    return points.length;
  },
  // The view as the cells API's bbox: min_lon,min_lat,max_lon,max_lat within ±180, ±90.
  bbox(view) {
    const b = view.map.getBounds();
    const wrap = (lon) => ((((lon + 180) % 360) + 360) % 360) - 180;
    const south = Math.max(-90, b.getSouth()), north = Math.min(90, b.getNorth());
    if (b.getEast() - b.getWest() >= 360) return [-180, south, 180, north];
    return [wrap(b.getWest()), south, wrap(b.getEast()), north];
  },
};
