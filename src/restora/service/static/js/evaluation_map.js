// The dashboard's map of social-capital investment by county (MapLibre GL JS, vendored): Natural
// Earth countries and the county boundary served by the app beneath, one circle per county at the
// centre of its mines' sites, its area proportional to the county's social-capital investment.
// No external tiles, no glyphs: the figures are in popups (HTML).
const script = document.currentScript || document.querySelector('script[data-maplibre]');
const maplibregl = await import(script.dataset.maplibre);

const el = document.getElementById('eval-map');
const status = document.getElementById('map-status');
const counties = JSON.parse(document.getElementById('eval-counties').textContent);

async function json(url) {
  const r = await fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}});
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

function bounds(fcs) {
  let b = [180, 90, -180, -90];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      b = [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])];
    } else c.forEach(walk);
  };
  fcs.forEach((fc) => fc.features.forEach((f) => walk(f.geometry.coordinates)));
  if (b[0] > b[2]) return [73, 18, 135, 54]; // nothing to frame: China
  if (b[2] - b[0] < 0.05) { b[0] -= 0.1; b[2] += 0.1; b[1] -= 0.1; b[3] += 0.1; }
  return b;
}

try {
  const [countriesTopo, county] = await Promise.all([
    json(el.dataset.countries),
    json(el.dataset.county).catch(() => ({type: 'FeatureCollection', features: []})),
  ]);
  const countries = window.topojson.feature(countriesTopo, countriesTopo.objects.countries);
  const top = Math.max(1, ...counties.features.map((f) => f.properties.social_capital_cny || 0));
  const map = new maplibregl.Map({
    container: el,
    attributionControl: {compact: true, customAttribution: 'Natural Earth'},
    style: {
      version: 8,
      sources: {
        countries: {type: 'geojson', data: countries},
        county: {type: 'geojson', data: county},
        counties: {type: 'geojson', data: counties, promoteId: 'region_code'},
      },
      layers: [
        {id: 'sea', type: 'background', paint: {'background-color': '#dbe9f2'}},
        {id: 'land', type: 'fill', source: 'countries', paint: {'fill-color': '#f4f1ea', 'fill-outline-color': '#b9b3a6'}},
        {id: 'county-fill', type: 'fill', source: 'county', paint: {'fill-color': '#ffffff', 'fill-opacity': 0.65}},
        {id: 'county-line', type: 'line', source: 'county', paint: {'line-color': '#3d5a4c', 'line-width': 2, 'line-dasharray': [3, 1.5]}},
        {id: 'counties', type: 'circle', source: 'counties', paint: {
          'circle-color': '#2f6f57', 'circle-opacity': 0.75,
          'circle-radius': ['+', 6, ['*', 34, ['sqrt', ['/', ['get', 'social_capital_cny'], top]]]],
          'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1.5,
        }},
      ],
    },
    bounds: bounds([county, counties]),
    fitBoundsOptions: {padding: 30},
  });
  map.addControl(new maplibregl.NavigationControl({showCompass: false}), 'top-right');
  map.on('click', 'counties', (e) => {
    const p = e.features[0].properties;
    const wan = (Number(p.social_capital_cny) / 1e4).toLocaleString(document.documentElement.lang, {maximumFractionDigits: 1});
    const share = p.social_capital_share == null || p.social_capital_share === 'null' ? '—' : `${(Number(p.social_capital_share) * 100).toFixed(1)} %`;
    const div = document.createElement('div');
    const strong = document.createElement('strong');
    strong.textContent = p.region_code;
    div.append(strong, document.createElement('br'), `${el.dataset.textSocial}: ${wan}`, document.createElement('br'), `${el.dataset.textShare}: ${share}`);
    new maplibregl.Popup().setLngLat(e.lngLat).setDOMContent(div).addTo(map);
  });
  map.on('load', () => { status.dataset.state = 'ready'; status.hidden = true; el.dataset.ready = 'true'; });
} catch (err) {
  status.dataset.state = 'error';
  status.textContent = String(err);
}
