// Charts of the mine and project pages (Apache ECharts, vendored). Each chart is an element
// <div class="chart" data-chart="KIND" data-source="ID" data-text-…> whose data is the JSON of
// <script type="application/json" id="ID"> (rendered by the server; never executed).
(function () {
  'use strict';
  const GREEN = '#2f6f57', SAND = '#c9a66b', RED = '#b3261e', GREY = '#8a9690', BLUE = '#3b6ea8';
  const wan = (v) => (v == null ? null : Math.round(v / 100) / 100); // CNY → 10k CNY, 2 decimals
  const fmt = (v) => (v == null ? '—' : Number(v).toLocaleString(document.documentElement.lang, {maximumFractionDigits: 1}));
  const base = {
    textStyle: {fontFamily: getComputedStyle(document.documentElement).fontFamily},
    animation: false,
    grid: {left: 70, right: 20, top: 40, bottom: 60, containLabel: false},
    tooltip: {trigger: 'axis', valueFormatter: fmt},
  };
  const kinds = {
    'esv-services': function (d, t) {
      return Object.assign({}, base, {
        legend: {data: [t.textBefore, t.textAfter], top: 0},
        grid: {left: 150, right: 30, top: 30, bottom: 40},
        xAxis: {type: 'value', name: t.textUnit, nameLocation: 'middle', nameGap: 26},
        yAxis: {type: 'category', data: d.names, inverse: true},
        series: [
          {name: t.textBefore, type: 'bar', data: d.before.map(wan), itemStyle: {color: SAND}},
          {name: t.textAfter, type: 'bar', data: d.after.map(wan), itemStyle: {color: GREEN}},
        ],
      });
    },
    'cashflow': function (d, t) {
      return Object.assign({}, base, {
        legend: {data: [t.textRevenue, t.textCapex, t.textOpex, t.textCumulative], top: 0},
        xAxis: {type: 'category', data: d.years},
        yAxis: {type: 'value', name: t.textUnit},
        series: [
          {name: t.textRevenue, type: 'bar', stack: 'f', data: d.revenue.map(wan), itemStyle: {color: GREEN}},
          {name: t.textCapex, type: 'bar', stack: 'f', data: d.capex.map(wan), itemStyle: {color: RED}},
          {name: t.textOpex, type: 'bar', stack: 'f', data: d.opex.map(wan), itemStyle: {color: SAND}},
          {name: t.textCumulative, type: 'line', data: d.cumulative.map(wan), itemStyle: {color: BLUE}, symbolSize: 4},
        ],
      });
    },
    'cost-phase': function (d, t) {
      return Object.assign({}, base, {
        grid: {left: 170, right: 30, top: 20, bottom: 40},
        xAxis: {type: 'value', name: t.textUnit, nameLocation: 'middle', nameGap: 26},
        yAxis: {type: 'category', data: d.names, inverse: true},
        series: [{name: t.textP50, type: 'bar', data: d.p50.map(wan), itemStyle: {color: GREEN}}],
      });
    },
    'npv-hist': function (d, t) {
      return Object.assign({}, base, {
        xAxis: {type: 'category', data: d.centres.map(wan), name: t.textUnit, nameLocation: 'middle', nameGap: 32,
          axisLabel: {formatter: (v) => fmt(v)}},
        yAxis: {type: 'value', name: t.textCount},
        series: [{name: t.textCount, type: 'bar', barCategoryGap: '5%',
          data: d.counts.map((c, i) => ({value: c, itemStyle: {color: d.centres[i] < 0 ? RED : GREEN}}))}],
      });
    },
  };
  function draw() {
    document.querySelectorAll('.chart[data-chart]').forEach(function (el) {
      const src = document.getElementById(el.dataset.source);
      const make = kinds[el.dataset.chart];
      if (!src || !make || !window.echarts) return;
      const chart = window.echarts.init(el, null, {renderer: 'canvas'});
      chart.setOption(make(JSON.parse(src.textContent), el.dataset));
      el.dataset.drawn = 'true';
      window.addEventListener('resize', () => chart.resize());
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw);
  else draw();
})();
