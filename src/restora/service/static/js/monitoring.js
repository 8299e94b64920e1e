// The live monitoring page of a mine (templates/monitoring.html). The live part refreshes
// itself through htmx (hx-trigger "every 10s, refresh"); this file adds:
// - the "restora-json" htmx extension: the acknowledge / resolve buttons post JSON to the API
//   (the CSRF token is added by app.js); after a success the live part is refreshed, after a
//   refusal the problem's detail is shown;
// - one chart per indicator (Apache ECharts, vendored): the readings of each sensor on a time
//   axis, the warning and alarm levels as dashed lines, read from the series API every 10 s
//   without reloading the page.
(function () {
  'use strict';
  const RED = '#b3261e', AMBER = '#e39a00';
  const PALETTE = ['#2f6f57', '#3b6ea8', '#c9a66b', '#7b4fa0', '#1b8a8a', '#8a9690', '#a0522d'];
  // the page shows Beijing time whatever the browser's zone: times are shifted by 8 h and the
  // charts drawn in UTC
  const CST_MS = 8 * 3600 * 1000;
  const cst = (t) => Date.parse(t) + CST_MS;

  function defineJson() {
    if (!window.htmx || window.htmx.__restoraJson) return;
    window.htmx.__restoraJson = true;
    window.htmx.defineExtension('restora-json', {
      onEvent: function (name, evt) {
        if (name === 'htmx:configRequest') evt.detail.headers['Content-Type'] = 'application/json';
      },
      encodeParameters: function (xhr, parameters) {
        xhr.overrideMimeType('text/json');
        const body = {};
        if (parameters && parameters.forEach) parameters.forEach(function (v, k) { body[k] = v; });
        return JSON.stringify(body);
      },
    });
  }

  document.addEventListener('htmx:afterRequest', function (e) {
    const el = e.detail.elt;
    if (!el || !el.hasAttribute || !el.hasAttribute('data-alert-action')) return;
    const live = document.getElementById('live');
    if (e.detail.successful) {
      if (live && window.htmx) window.htmx.trigger(live, 'refresh');
      return;
    }
    let detail = e.detail.xhr ? e.detail.xhr.status + ' ' + e.detail.xhr.statusText : 'error';
    try { detail = JSON.parse(e.detail.xhr.responseText).detail || detail; } catch (err) { /* not JSON */ }
    const box = live && live.querySelector('.mon-action-error');
    if (box) { box.textContent = detail; box.hidden = false; }
  });

  const charts = {};
  function levelLines(t, text) {
    const lines = [];
    const add = function (v, name, colour) {
      if (v !== null && v !== undefined) {
        lines.push({yAxis: v, name: name, lineStyle: {color: colour, type: 'dashed', width: 1.5},
          label: {formatter: name + ' ' + v, position: 'insideEndTop', color: colour}});
      }
    };
    add(t.warning, text.warning, AMBER);
    add(t.alarm, text.alarm, RED);
    add(t.warning_low, text.warningLow, AMBER);
    add(t.alarm_low, text.alarmLow, RED);
    return lines;
  }
  function option(s, text, zh, hours) {
    const name = (zh ? s.name_zh : s.name_en) || s.indicator;
    const lines = levelLines(s.thresholds || {}, text);
    const series = s.sensors.map(function (x, i) {
      return {
        name: x.sensor_id, type: 'line', showSymbol: x.points.length < 60, symbolSize: 5,
        data: x.points.map(function (p) { return [cst(p[0]), p[1]]; }), itemStyle: {color: PALETTE[i % PALETTE.length]},
        // precision: ECharts rounds a mark line's value to 2 decimals by default (0.005 mg/L → 0.01)
        markLine: i === 0 && lines.length ? {symbol: 'none', silent: true, precision: 10, data: lines} : undefined,
      };
    });
    const values = [];
    s.sensors.forEach(function (x) { x.points.forEach(function (p) { values.push(p[1]); }); });
    lines.forEach(function (l) { values.push(l.yAxis); });
    const lo = values.length ? Math.min.apply(null, values) : 0;
    const hi = values.length ? Math.max.apply(null, values) : 1;
    const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
    const until = Date.now() + CST_MS;
    return {
      animation: false,
      useUTC: true,
      title: {text: name + ' (' + s.unit + ')', left: 0, top: 0, textStyle: {fontSize: 14}},
      legend: {top: 24, type: 'scroll'},
      grid: {left: 60, right: 30, top: 64, bottom: 40},
      tooltip: {trigger: 'axis'},
      xAxis: {type: 'time', min: until - Number(hours) * 3600 * 1000, max: until},
      yAxis: {type: 'value', scale: true, min: Number((lo - pad).toPrecision(3)),
        max: Number((hi + pad).toPrecision(3))},
      series: series,
    };
  }
  async function refresh(root) {
    const span = document.getElementById('mon-span');
    const hours = span ? span.value : '24';
    const text = {warning: root.dataset.textWarning, alarm: root.dataset.textAlarm,
      warningLow: root.dataset.textWarningLow, alarmLow: root.dataset.textAlarmLow};
    const zh = (document.documentElement.lang || '').toLowerCase().startsWith('zh');
    let data;
    try {
      const r = await fetch(root.dataset.series + '?hours=' + encodeURIComponent(hours),
        {credentials: 'same-origin', headers: {Accept: 'application/json'}});
      if (!r.ok) throw new Error(String(r.status));
      data = await r.json();
    } catch (e) {
      root.dataset.state = 'failed';
      if (!root.querySelector('.mon-chart')) root.textContent = root.dataset.textFailed;
      return;
    }
    const empty = root.querySelector('.mon-empty');
    if (!data.length) {
      Object.keys(charts).forEach(function (k) { charts[k].dispose(); delete charts[k]; });
      root.innerHTML = '';
      const p = document.createElement('p');
      p.className = 'muted mon-empty';
      p.textContent = root.dataset.textEmpty;
      root.appendChild(p);
      root.dataset.state = 'empty';
      return;
    }
    if (empty) empty.remove();
    const seen = {};
    data.forEach(function (s) {
      seen[s.indicator] = true;
      let chart = charts[s.indicator];
      if (!chart) {
        const box = document.createElement('div');
        box.className = 'mon-chart';
        box.dataset.indicator = s.indicator;
        root.appendChild(box);
        chart = window.echarts.init(box, null, {renderer: 'canvas'});
        charts[s.indicator] = chart;
      }
      chart.setOption(option(s, text, zh, hours), {notMerge: true});
    });
    Object.keys(charts).forEach(function (k) {
      if (!seen[k]) {
        const box = charts[k].getDom();
        charts[k].dispose();
        box.remove();
        delete charts[k];
      }
    });
    root.dataset.state = 'drawn';
  }
  function start() {
    defineJson();
    const root = document.getElementById('mon-charts');
    if (!root || !window.echarts) return;
    refresh(root);
    const every = 1000 * Number(root.dataset.refresh || 10);
    window.setInterval(function () { refresh(root); }, every);
    const span = document.getElementById('mon-span');
    if (span) span.addEventListener('change', function () { refresh(root); });
    window.addEventListener('resize', function () {
      Object.keys(charts).forEach(function (k) { charts[k].resize(); });
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
