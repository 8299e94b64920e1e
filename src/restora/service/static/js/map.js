// The register map (MapLibre GL JS, vendored): an offline basemap (Natural Earth countries from
// world-atlas, the county boundary served by the app), the register's sites as polygons and its
// mines as circles, coloured by restoration priority class or by soil class. No external tiles, no
// glyphs: labels are HTML (popups and the list beside the map).
const script = document.currentScript || document.querySelector('script[data-maplibre]');
const maplibregl = await import(script.dataset.maplibre);

const el = document.getElementById('map');
const status = document.getElementById('map-status');
const soilLabels = JSON.parse(el.dataset.soilLabels);
const classLabels = JSON.parse(el.dataset.classLabels);

const SOIL = ['match', ['get', 'pollution_class'],
  'priority_protection', '#2e7d32',
  'safe_utilization', '#f2a900',
  'strict_control', '#c62828',
  'indeterminate', '#7b1fa2',
  '#9e9e9e'];
const PRIORITY = ['match', ['get', 'priority_class'],
  'high', '#b2182b',
  'medium', '#f4a259',
  'low', '#f7e3a1',
  '#9e9e9e'];

async function json(url) {
  const r = await fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}});
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

function bounds(fc) {
  let b = [180, 90, -180, -90];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      b = [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])];
    } else c.forEach(walk);
  };
  fc.features.forEach((f) => walk(f.geometry.coordinates));
  return b;
}

const [countriesTopo, county, sites, mines] = await Promise.all([
  json(el.dataset.countries), json(el.dataset.county), json(el.dataset.sites), json(el.dataset.mines),
]);
const countries = window.topojson.feature(countriesTopo, countriesTopo.objects.countries);
const frame = county.features.length ? county : sites;

const map = new maplibregl.Map({
  container: el,
  attributionControl: {compact: true, customAttribution: 'Natural Earth'},
  style: {
    version: 8,
    sources: {
      countries: {type: 'geojson', data: countries},
      county: {type: 'geojson', data: county},
      sites: {type: 'geojson', data: sites, promoteId: 'site_id'},
      mines: {type: 'geojson', data: mines, promoteId: 'mine_id'},
    },
    layers: [
      {id: 'sea', type: 'background', paint: {'background-color': '#dbe9f2'}},
      {id: 'land', type: 'fill', source: 'countries', paint: {'fill-color': '#f4f1ea', 'fill-outline-color': '#b9b3a6'}},
      {id: 'borders', type: 'line', source: 'countries', paint: {'line-color': '#a39d90', 'line-width': 0.8}},
      {id: 'county-fill', type: 'fill', source: 'county', paint: {'fill-color': '#ffffff', 'fill-opacity': 0.65}},
      {id: 'county-line', type: 'line', source: 'county', paint: {'line-color': '#3d5a4c', 'line-width': 2, 'line-dasharray': [3, 1.5]}},
      {id: 'sites-fill', type: 'fill', source: 'sites', paint: {'fill-color': PRIORITY, 'fill-opacity': 0.8}},
      {id: 'sites-line', type: 'line', source: 'sites', paint: {'line-color': '#3b2f2f', 'line-width': 0.6}},
      {id: 'mines', type: 'circle', source: 'mines', paint: {
        'circle-color': PRIORITY,
        'circle-radius': ['interpolate', ['linear'], ['sqrt', ['get', 'area_hm2']], 0, 4, 25, 14],
        'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1.5,
        'circle-opacity': ['interpolate', ['linear'], ['zoom'], 11, 0.9, 13, 0.15],
        'circle-stroke-opacity': ['interpolate', ['linear'], ['zoom'], 11, 1, 13, 0.2],
      }},
    ],
  },
  bounds: bounds(frame),
  fitBoundsOptions: {padding: 24},
});
map.addControl(new maplibregl.NavigationControl({showCompass: false}), 'top-right');
map.addControl(new maplibregl.ScaleControl({unit: 'metric'}), 'bottom-left');

function setColour(by) {
  const paint = by === 'soil' ? SOIL : PRIORITY;
  map.setPaintProperty('sites-fill', 'fill-color', paint);
  map.setPaintProperty('mines', 'circle-color', paint);
  document.getElementById('legend-priority').hidden = by === 'soil';
  document.getElementById('legend-soil').hidden = by !== 'soil';
  el.dataset.colour = by;
}
document.querySelectorAll('input[name="colour"]').forEach((input) => {
  input.addEventListener('change', () => setColour(input.value));
});

function popup(lngLat, p) {
  const box = document.createElement('div');
  box.className = 'popup';
  const h = document.createElement('strong');
  h.textContent = `${p.mine_name || p.mine_id} (${p.mine_id})`;
  box.append(h);
  const rows = [
    [el.dataset.textClass, classLabels[p.priority_class] || '—'],
    [el.dataset.textRank, p.rank ?? '—'],
    [el.dataset.textSoil, soilLabels[p.pollution_class] || p.pollution_class],
    [el.dataset.textArea, p.area_hm2 != null ? Number(p.area_hm2).toFixed(1) : '—'],
  ];
  for (const [k, v] of rows) {
    const line = document.createElement('div');
    line.textContent = `${k}: ${v}`;
    box.append(line);
  }
  const a = document.createElement('a');
  a.href = `/mines/${encodeURIComponent(p.mine_id)}`;
  a.textContent = el.dataset.textOpen;
  box.append(a);
  new maplibregl.Popup({maxWidth: '280px'}).setLngLat(lngLat).setDOMContent(box).addTo(map);
}
for (const layer of ['sites-fill', 'mines']) {
  map.on('click', layer, (e) => popup(e.lngLat, e.features[0].properties));
  map.on('mouseenter', layer, () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', layer, () => { map.getCanvas().style.cursor = ''; });
}

map.once('idle', () => {
  const seen = new Set(map.querySourceFeatures('sites').map((f) => f.properties.site_id));
  el.dataset.sitesRendered = String(seen.size);
  el.dataset.sitesServed = String(sites.features.length);
  status.dataset.state = 'ready';
  status.textContent = '';
});
map.on('error', (e) => {
  status.dataset.state = 'error';
  status.textContent = String(e.error && e.error.message || e);
});
window.restoraMap = map;
