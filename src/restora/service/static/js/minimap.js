// The sites of one mine on a small map (mine page): Natural Earth beneath, no external tiles.
const script = document.querySelector('script[data-maplibre]');
const maplibregl = await import(script.dataset.maplibre);
const el = document.getElementById('minimap');
const get = async (url) => (await fetch(url, {credentials: 'same-origin'})).json();
const [topo, all] = await Promise.all([get(el.dataset.countries), get(el.dataset.sites)]);
const sites = {type: 'FeatureCollection', features: all.features.filter((f) => f.properties.mine_id === el.dataset.mine)};
let b = [180, 90, -180, -90];
const walk = (c) => { if (typeof c[0] === 'number') { b = [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])]; } else c.forEach(walk); };
sites.features.forEach((f) => walk(f.geometry.coordinates));
if (!sites.features.length) b = [73, 18, 135, 54];
const map = new maplibregl.Map({
  container: el,
  attributionControl: {compact: true, customAttribution: 'Natural Earth'},
  style: {version: 8,
    sources: {countries: {type: 'geojson', data: window.topojson.feature(topo, topo.objects.countries)}, sites: {type: 'geojson', data: sites}},
    layers: [
      {id: 'bg', type: 'background', paint: {'background-color': '#f4f1ea'}},
      {id: 'borders', type: 'line', source: 'countries', paint: {'line-color': '#a39d90'}},
      {id: 'sites', type: 'fill', source: 'sites', paint: {'fill-color': ['match', ['get', 'pollution_class'], 'priority_protection', '#2e7d32', 'safe_utilization', '#f2a900', 'strict_control', '#c62828', 'indeterminate', '#7b1fa2', '#9e9e9e'], 'fill-opacity': 0.75}},
      {id: 'sites-line', type: 'line', source: 'sites', paint: {'line-color': '#3b2f2f', 'line-width': 1}},
    ]},
  bounds: b, fitBoundsOptions: {padding: 30, maxZoom: 15},
});
map.addControl(new maplibregl.ScaleControl({unit: 'metric'}), 'bottom-left');
map.once('idle', () => { el.dataset.ready = 'true'; });
