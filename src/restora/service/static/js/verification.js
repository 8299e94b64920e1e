// The evaluator's review page (templates/verification_review.html): the chart of the evidence
// (Apache ECharts, vendored). Its data is the JSON of <script type="application/json"
// id="vp-chart-data"> rendered by the server (restora.service.web.verificationpage.charts):
// kind "series" (each hazard point's displacement on a time axis, mm) or "bars" (each sample's
// largest single-factor index with the screening value at 1; each zone's FVC or plot's survival
// rate in %, with the target as a dashed line). Times are shown in Beijing time (UTC+8).
(function () {
  'use strict';
  const GREEN = '#2f6f57', RED = '#b3261e', BLUE = '#3b6ea8';
  const PALETTE = ['#2f6f57', '#3b6ea8', '#c9a66b', '#7b4fa0', '#1b8a8a', '#8a9690', '#a0522d'];
  const CST_MS = 8 * 3600 * 1000;

  function markLine(value, name, colour) {
    if (value === null || value === undefined) return undefined;
    return {symbol: 'none', silent: true, precision: 10,
      data: [{yAxis: value, name: name, lineStyle: {color: colour, type: 'dashed', width: 1.5},
        label: {formatter: name + ' ' + value, position: 'insideEndTop', color: colour}}]};
  }
  function series(d, t) {
    return {
      animation: false, useUTC: true,
      legend: {top: 0, type: 'scroll'},
      grid: {left: 60, right: 30, top: 40, bottom: 40},
      tooltip: {trigger: 'axis'},
      xAxis: {type: 'time'},
      yAxis: {type: 'value', scale: true, name: d.unit},
      series: d.lines.map(function (l, i) {
        return {name: l.name, type: 'line', showSymbol: l.points.length < 60, symbolSize: 5,
          itemStyle: {color: PALETTE[i % PALETTE.length]},
          data: l.points.map(function (p) { return [Date.parse(p[0]) + CST_MS, p[1]]; })};
      }),
    };
  }
  function bars(d, t) {
    const good = function (v) {
      if (v === null || d.line === null || d.line === undefined) return BLUE;
      return (d.good === 'below' ? v <= d.line : v >= d.line) ? GREEN : RED;
    };
    return {
      animation: false,
      grid: {left: 60, right: 80, top: 30, bottom: d.names.length > 12 ? 90 : 50},
      tooltip: {trigger: 'axis'},
      xAxis: {type: 'category', data: d.names, axisLabel: {rotate: d.names.length > 12 ? 45 : 0, interval: 0}},
      yAxis: {type: 'value', name: d.unit || t.value, max: d.unit === '%' ? 100 : undefined},
      series: [{
        name: t.value, type: 'bar', barMaxWidth: 36,
        data: d.values.map(function (v) { return {value: v, itemStyle: {color: good(v)}}; }),
        markLine: markLine(d.line, t.line, RED),
      }],
    };
  }
  function start() {
    const box = document.getElementById('vp-chart');
    if (!box || !window.echarts) return;
    const source = document.getElementById(box.dataset.source);
    if (!source) return;
    const d = JSON.parse(source.textContent);
    const t = {line: box.dataset.textLine, value: box.dataset.textValue};
    const chart = window.echarts.init(box, null, {renderer: 'canvas'});
    chart.setOption(d.kind === 'series' ? series(d, t) : bars(d, t));
    box.dataset.state = 'drawn';
    window.addEventListener('resize', function () { chart.resize(); });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
