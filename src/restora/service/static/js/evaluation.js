// The policy-evaluation dashboard's charts (Apache ECharts, vendored): the Lorenz curves of the
// disparity measures and the mode mix. Data: the JSON of <script type="application/json"
// id="eval-charts"> rendered by the server; texts in the charts' data-* attributes.
(function () {
  'use strict';
  const COLOURS = {social_capital_cny: '#2f6f57', restored_area_hm2: '#c9a66b'};
  function start() {
    const source = document.getElementById('eval-charts');
    if (!source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    const font = getComputedStyle(document.documentElement).fontFamily;
    const lorenzEl = document.getElementById('lorenz-chart');
    if (lorenzEl) {
      const t = lorenzEl.dataset;
      const labels = JSON.parse(t.measureLabels);
      const series = [{
        name: t.textEquality, type: 'line', data: [[0, 0], [1, 1]], symbol: 'none',
        lineStyle: {type: 'dashed', color: '#8a9690'},
      }];
      Object.keys(data.lorenz || {}).forEach(function (m) {
        const l = data.lorenz[m];
        series.push({
          name: labels[m] || m, type: 'line', symbolSize: 5, itemStyle: {color: COLOURS[m] || '#3b6ea8'},
          data: l.population_share.map(function (x, i) { return [x, l.value_share[i]]; }),
        });
      });
      const chart = window.echarts.init(lorenzEl, null, {renderer: 'canvas'});
      chart.setOption({
        textStyle: {fontFamily: font}, animation: false,
        title: {text: t.textTitle, left: 'center', textStyle: {fontSize: 14}},
        legend: {bottom: 0},
        grid: {left: 60, right: 20, top: 40, bottom: 70},
        tooltip: {trigger: 'item'},
        xAxis: {type: 'value', min: 0, max: 1, name: t.textX, nameLocation: 'middle', nameGap: 26},
        yAxis: {type: 'value', min: 0, max: 1, name: t.textY, nameLocation: 'middle', nameGap: 40},
        series: series,
      });
      lorenzEl.dataset.ready = 'true';
    }
    const modesEl = document.getElementById('modes-chart');
    if (modesEl && data.modes) {
      const labels = JSON.parse(modesEl.dataset.modeLabels);
      const chart = window.echarts.init(modesEl, null, {renderer: 'canvas'});
      chart.setOption({
        textStyle: {fontFamily: font}, animation: false,
        grid: {left: 190, right: 30, top: 20, bottom: 30},
        tooltip: {trigger: 'axis'},
        xAxis: {type: 'value', minInterval: 1, name: modesEl.dataset.textProjects},
        yAxis: {type: 'category', inverse: true, data: data.modes.map(function (m) { return labels[m.mode] || m.mode; })},
        series: [{type: 'bar', data: data.modes.map(function (m) { return m.projects; }), itemStyle: {color: '#2f6f57'}}],
      });
      modesEl.dataset.ready = 'true';
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
