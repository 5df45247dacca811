// The board's map: vector markers and lines only, so it needs no image or tile from
// anywhere; a tile layer is added only when BOARD_TILE_URL is set.
(function () {
  var holder = document.getElementById("map");
  if (!holder || !window.L) return;
  var data = JSON.parse(document.getElementById("map-data").textContent);
  var tiles = JSON.parse(document.getElementById("map-tiles").textContent);
  var map = L.map(holder, { attributionControl: Boolean(tiles) });
  if (tiles) L.tileLayer(tiles, { maxZoom: 18 }).addTo(map);
  var bounds = [];
  function label(marker, text) {
    marker.bindTooltip(text, { permanent: true, direction: "right", className: "map-label" });
  }
  data.routes.forEach(function (route) {
    L.polyline(route.points, { color: "#0b4fb3", weight: 3, opacity: 0.8 }).addTo(map);
  });
  data.homes.forEach(function (home) {
    var marker = L.circleMarker([home.lat, home.lon], {
      radius: 7, color: home.out_of_reach ? "#a4161a" : "#1b1b1b", weight: 2,
      dashArray: home.out_of_reach ? "4 3" : null,
      fillColor: home.out_of_reach ? "#fde8e8" : "#ffffff", fillOpacity: 1
    }).addTo(map);
    label(marker, home.label + (home.out_of_reach ? " (out of reach)" : ""));
    bounds.push([home.lat, home.lon]);
  });
  data.units.forEach(function (unit) {
    var marker = L.circleMarker([unit.lat, unit.lon], {
      radius: 9, color: "#0b4fb3", weight: 3, fillColor: "#0b4fb3", fillOpacity: 0.9
    }).addTo(map);
    label(marker, unit.label + " (" + unit.where + ")");
    bounds.push([unit.lat, unit.lon]);
  });
  if (bounds.length) map.fitBounds(bounds, { padding: [40, 40] });
  else map.setView([39.5, -98.35], 4);
})();
