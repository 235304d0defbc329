/**
 * The page of the web view: its HTML, style and script, kept as strings so
 * they are compiled into dist/ with the rest and ship in the package; squall
 * serves them itself and the page loads nothing else (no framework, no
 * font, no CDN): it works offline. The script is plain browser JavaScript
 * (no build step of its own); it builds every element with the DOM API and
 * sets text with textContent, never HTML from data.
 */

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function pageHtml(o: { topology: string; token: string; readOnly: boolean }): string {
  const name = escapeHtml(o.topology);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="squall-token" content="${escapeHtml(o.token)}">
<meta name="squall-read-only" content="${o.readOnly ? 'true' : 'false'}">
<title>squall: ${name}</title>
<link rel="stylesheet" href="/app.css">
</head>
<body data-seq="0">
<header>
  <h1><span class="brand">squall</span> <span id="topology">${name}</span></h1>
  <span id="status" class="status">connecting</span>
  <dl class="facts">
    <dt>run</dt><dd id="run-id">-</dd>
    <dt>mode</dt><dd id="mode">-</dd>
    <dt>uptime</dt><dd id="uptime">-</dd>
    <dt>emitted</dt><dd id="total-emitted">-</dd>
    <dt>acked</dt><dd id="total-acked">-</dd>
    <dt>failed</dt><dd id="total-failed">-</dd>
    <dt>timed out</dt><dd id="total-timed-out">-</dd>
    <dt>pending</dt><dd id="total-pending">-</dd>
  </dl>
  <div id="controls" class="controls"></div>
  <span id="connection" class="connection"></span>
</header>
<div id="message" class="message" role="status" aria-live="polite"></div>
<main>
  <section class="graph-section">
    <h2>Topology</h2>
    <div class="graph-wrap"><svg id="graph" role="img" aria-label="the topology graph"></svg></div>
    <p class="legend">Box colour: how busy, green (idle) to red (full): a bolt's capacity, a spout's trees in flight over maxSpoutPending.
    Bar under a box: its mailboxes' fill (back pressure). Edges: grouping and tuples/s (&le;: an upper bound, see docs/ui.md).</p>
  </section>
  <section class="charts">
    <div class="chart"><h2>Throughput (per second)</h2><svg id="chart-throughput" class="chart-svg"></svg><div id="legend-throughput" class="chart-legend"></div></div>
    <div class="chart"><h2>Complete latency (ms)</h2><svg id="chart-latency" class="chart-svg"></svg><div id="legend-latency" class="chart-legend"></div></div>
  </section>
  <section>
    <h2>Components</h2>
    <div class="table-wrap"><table id="components"><thead></thead><tbody></tbody></table></div>
  </section>
  <section id="stuck-section" hidden>
    <h2>Stuck tuples</h2>
    <p class="legend" id="stuck-summary"></p>
    <div class="table-wrap"><table id="stuck-tasks"><thead><tr><th class="text">stuck task</th><th>task</th><th>host</th><th>acked nothing for (s)</th><th>queued</th></tr></thead><tbody></tbody></table></div>
    <div class="table-wrap"><table id="traces"><thead><tr><th class="text">timed out at</th><th class="text">spout</th><th>tree age (s)</th><th class="text">held by</th><th>task</th><th>held (s)</th><th>queued</th></tr></thead><tbody></tbody></table></div>
  </section>
  <section id="checkpoints-section" hidden>
    <h2>Checkpoints</h2>
    <dl class="facts" id="checkpoints"></dl>
  </section>
  <section>
    <h2>Hosts</h2>
    <div class="table-wrap"><table id="hosts"><thead></thead><tbody></tbody></table></div>
  </section>
</main>
<script src="/app.js"></script>
</body>
</html>
`;
}

export const PAGE_CSS = String.raw`
:root { --fg: #1d2330; --muted: #5d6678; --line: #d5dae3; --bg: #f6f7f9; --card: #fff; --accent: #2857c5; --bad: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 18px; padding: 10px 18px; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0; }
h1 .brand { color: var(--accent); }
h2 { font-size: 14px; margin: 0 0 8px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
.status { padding: 2px 10px; border-radius: 10px; background: #e3e6ec; font-weight: 600; }
.status.active { background: #d3f0dc; color: #0d6b2c; }
.status.inactive { background: #fdf0c9; color: #7a5300; }
.status.killing, .status.killed, .status.ended { background: #f9d7d4; color: var(--bad); }
.status.rebalancing, .status.starting { background: #dbe6fb; color: var(--accent); }
.facts { display: flex; flex-wrap: wrap; gap: 2px 6px; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0 10px 0 0; font-variant-numeric: tabular-nums; font-weight: 600; }
.controls { display: flex; gap: 6px; margin-left: auto; }
.controls button { font: inherit; padding: 4px 12px; border: 1px solid var(--line); border-radius: 6px; background: var(--card); cursor: pointer; }
.controls button:hover:enabled { border-color: var(--accent); color: var(--accent); }
.controls button:disabled { opacity: .45; cursor: default; }
.controls button.danger:hover:enabled { border-color: var(--bad); color: var(--bad); }
.controls .read-only { color: var(--muted); font-style: italic; }
.connection { color: var(--muted); font-size: 12px; }
.connection.down { color: var(--bad); }
.message { padding: 0 18px; min-height: 0; }
.message:not(:empty) { padding: 8px 18px; background: #eef3fd; border-bottom: 1px solid var(--line); }
.message.error { background: #fdeceb; color: var(--bad); }
main { padding: 14px 18px; display: grid; gap: 14px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
.graph-wrap { overflow-x: auto; }
#graph .node rect.box { stroke: #6b7486; stroke-width: 1; rx: 6; }
#graph .node.spout rect.box { stroke-dasharray: 5 3; }
#graph .node text { font-size: 12px; fill: var(--fg); }
#graph .node text.name { font-weight: 700; font-size: 13px; }
#graph .node text.detail { fill: #333b4a; }
#graph .node rect.queue-bg { fill: #e5e8ee; }
#graph .node rect.queue { fill: #7b5fc7; }
#graph path.edge { fill: none; stroke: #8a93a5; stroke-width: 1.5; }
#graph path.edge.back { stroke-dasharray: 4 3; }
#graph text.edge-label { font-size: 11px; fill: var(--muted); text-anchor: middle; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
#graph marker path { fill: #8a93a5; }
.legend { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 16px; }
.chart-svg { width: 100%; height: 190px; display: block; }
.chart-svg .grid { stroke: #e6e9ef; stroke-width: 1; }
.chart-svg .axis { font-size: 10px; fill: var(--muted); }
.chart-svg path.line { fill: none; stroke-width: 1.8; }
.s0 { stroke: #2857c5; } .s1 { stroke: #1b9e4b; } .s2 { stroke: #d0342c; } .s3 { stroke: #e08b00; }
.chart-legend { display: flex; gap: 14px; font-size: 12px; color: var(--muted); }
.chart-legend span::before { content: ""; display: inline-block; width: 12px; height: 3px; margin-right: 5px; vertical-align: middle; background: currentColor; }
.chart-legend .s0 { color: #2857c5; } .chart-legend .s1 { color: #1b9e4b; } .chart-legend .s2 { color: #d0342c; } .chart-legend .s3 { color: #e08b00; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 7px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; cursor: pointer; user-select: none; white-space: normal; vertical-align: bottom; min-width: 3.5em; }
th[aria-sort="ascending"]::after { content: " \25B2"; }
th[aria-sort="descending"]::after { content: " \25BC"; }
td.text, th.text { text-align: left; }
td.error { color: var(--bad); white-space: normal; min-width: 200px; max-width: 380px; text-align: left; font-size: 12px; }
tr.acker td { color: var(--muted); }
td .cap { display: inline-block; min-width: 44px; padding: 0 4px; border-radius: 4px; }
#graph .node.stuck rect.box { stroke: var(--bad); stroke-width: 3; }
#graph .node text.stuck { fill: var(--bad); font-weight: 700; font-size: 11px; }
tr.stuck td { color: var(--bad); }
#stuck-section table { margin-bottom: 8px; }
`;

/** The page's script: server-sent events in, SVG and tables out. */
export const PAGE_JS = String.raw`(function () {
  'use strict';
  var SVG = 'http://www.w3.org/2000/svg';
  var token = meta('squall-token');
  var readOnly = meta('squall-read-only') === 'true';
  var layout = null;
  var state = null;
  var points = [];
  var sort = { key: 'order', dir: 1 };
  var graphNodes = {};
  var graphEdges = {};
  var ended = false;

  function meta(name) {
    var m = document.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute('content') || '' : '';
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function byId(id) { return document.getElementById(id); }
  function setText(id, text) { var e = byId(id); if (e) e.textContent = text; }

  // -- numbers ---------------------------------------------------------------
  function int(n) { return n === null || n === undefined ? '' : Math.round(n).toLocaleString('en-US'); }
  function rate(x) {
    if (x >= 1e6) return (x / 1e6).toFixed(2) + 'M';
    if (x >= 1e4) return (x / 1e3).toFixed(1) + 'k';
    if (x >= 100) return Math.round(x).toString();
    return x.toFixed(x >= 10 ? 1 : 2).replace(/\.?0+$/, '') || '0';
  }
  function ms(x) { return x === null || x === undefined ? '' : String(x); }
  function duration(msec) {
    var s = Math.floor(msec / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h > 0 ? h + 'h ' : '') + (h > 0 || m > 0 ? m + 'm ' : '') + (s % 60) + 's';
  }
  function loadColour(load) {
    var hue = Math.round(120 * (1 - Math.max(0, Math.min(1, load))));
    return 'hsl(' + hue + ', 70%, 84%)';
  }

  // -- the graph -------------------------------------------------------------
  function drawGraph() {
    var g = layout.graph;
    var root = byId('graph');
    while (root.firstChild) root.removeChild(root.firstChild);
    root.setAttribute('viewBox', '0 0 ' + g.width + ' ' + g.height);
    root.setAttribute('width', String(g.width));
    root.setAttribute('height', String(g.height));
    var defs = svg('defs');
    var marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' });
    marker.appendChild(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z' }));
    defs.appendChild(marker);
    root.appendChild(defs);
    graphEdges = {};
    g.edges.forEach(function (e) {
      var group = svg('g', { class: 'edge-group', 'data-edge': e.id });
      group.appendChild(svg('path', { class: 'edge' + (e.back ? ' back' : ''), d: e.path, 'marker-end': 'url(#arrow)' }));
      var label = svg('text', { class: 'edge-label', x: e.labelX, y: e.labelY }, e.grouping + (e.stream !== 'default' ? ' [' + e.stream + ']' : ''));
      group.appendChild(label);
      root.appendChild(group);
      graphEdges[e.id] = { edge: e, label: label };
    });
    graphNodes = {};
    g.nodes.forEach(function (n) {
      var group = svg('g', { class: 'node ' + n.kind, 'data-component': n.id, transform: 'translate(' + n.x + ',' + n.y + ')' });
      var box = svg('rect', { class: 'box', width: n.w, height: n.h, rx: 6, fill: loadColour(0) });
      var title = svg('title', {}, n.id);
      group.appendChild(title);
      group.appendChild(box);
      group.appendChild(svg('text', { class: 'name', x: 8, y: 17 }, n.id));
      group.appendChild(svg('text', { class: 'tasks', x: n.w - 8, y: 17, 'text-anchor': 'end' }, n.kind + ' x' + n.parallelism));
      var line1 = svg('text', { class: 'detail', x: 8, y: 35 }, '');
      var line2 = svg('text', { class: 'detail', x: 8, y: 51 }, '');
      group.appendChild(line1);
      group.appendChild(line2);
      group.appendChild(svg('rect', { class: 'queue-bg', x: 0, y: n.h + 3, width: n.w, height: 4, rx: 2 }));
      var queue = svg('rect', { class: 'queue', x: 0, y: n.h + 3, width: 0, height: 4, rx: 2 });
      group.appendChild(queue);
      var flag = svg('text', { class: 'stuck', x: 8, y: n.h + 18 }, '');
      group.appendChild(flag);
      root.appendChild(group);
      graphNodes[n.id] = { node: n, group: group, box: box, line1: line1, line2: line2, queue: queue, title: title, flag: flag };
    });
  }

  function updateGraph() {
    var comps = {};
    state.components.forEach(function (c) { comps[c.id] = c; });
    Object.keys(graphNodes).forEach(function (id) {
      var g = graphNodes[id];
      var c = comps[id];
      if (!c) return;
      g.box.setAttribute('fill', loadColour(c.load));
      g.box.setAttribute('data-load', String(c.load));
      if (c.kind === 'spout') {
        g.line1.textContent = rate(c.rates.emitted) + ' emitted/s';
        g.line2.textContent = 'in flight ' + int(c.pending) + (c.errors > 0 ? ', errors ' + int(c.errors) : '');
      } else {
        g.line1.textContent = rate(c.rates.executed) + ' executed/s';
        g.line2.textContent = 'capacity ' + (c.capacity === null ? '-' : c.capacity.toFixed(3)) + (c.errors > 0 ? ', errors ' + int(c.errors) : '');
      }
      g.queue.setAttribute('width', String(Math.round(g.node.w * c.backPressure)));
      var marked = c.stuckTasks.length > 0 || c.heldTimedOut.length > 0;
      g.group.setAttribute('class', 'node ' + c.kind + (marked ? ' stuck' : ''));
      g.flag.textContent = c.stuckTasks.length > 0 ? 'stuck: task ' + c.stuckTasks.join(', ') : c.heldTimedOut.length > 0 ? 'held a timed-out tree: task ' + c.heldTimedOut.join(', ') : '';
      g.title.textContent = id + ': queued ' + int(c.queued) + ' (' + Math.round(c.backPressure * 100) + '% of its mailboxes)';
    });
    state.edges.forEach(function (r) {
      var g = graphEdges[r.id];
      if (!g) return;
      var e = g.edge;
      g.label.textContent = e.grouping + (e.stream !== 'default' ? ' [' + e.stream + ']' : '') + ' \u00b7 ' + (r.exact ? '' : '\u2264') + rate(r.rate) + '/s';
    });
  }

  // -- the components table --------------------------------------------------
  var COLUMNS = [
    { key: 'id', label: 'component', text: true, get: function (c) { return c.id; } },
    { key: 'kind', label: 'kind', text: true, get: function (c) { return c.kind; } },
    { key: 'tasks', label: 'tasks', get: function (c) { return c.tasks; } },
    { key: 'emitted', label: 'emitted', get: function (c) { return c.emitted; } },
    { key: 'transferred', label: 'transferred', get: function (c) { return c.transferred; } },
    { key: 'executed', label: 'executed', get: function (c) { return c.kind === 'spout' ? null : c.executed; } },
    { key: 'acked', label: 'acked', get: function (c) { return c.acked; } },
    { key: 'failed', label: 'failed', get: function (c) { return c.failed; } },
    { key: 'timedOut', label: 'timed out', get: function (c) { return c.timedOut; } },
    { key: 'pending', label: 'in flight', get: function (c) { return c.pending; } },
    { key: 'lag', label: 'lag', get: function (c) { return c.lag; } },
    { key: 'queued', label: 'queued', get: function (c) { return c.queued; } },
    { key: 'executeLatencyMs', label: 'execute latency ms', ms: true, get: function (c) { return c.executeLatencyMs; } },
    { key: 'executeP99', label: 'execute p99 ms', ms: true, get: function (c) { return c.executeLatencyP99Ms; } },
    { key: 'completeP50', label: 'complete p50 ms', ms: true, get: function (c) { return c.completeLatencyMs ? c.completeLatencyMs.p50 : null; } },
    { key: 'completeP99', label: 'complete p99 ms', ms: true, get: function (c) { return c.completeLatencyMs ? c.completeLatencyMs.p99 : null; } },
    { key: 'capacity', label: 'capacity', cap: true, get: function (c) { return c.capacity; } },
    { key: 'backPressured', label: 'back-pressured', cap: true, get: function (c) { return c.kind === 'acker' ? null : c.backPressured; } },
    { key: 'watermark', label: 'watermark', text: true, get: function (c) { return c.watermark === null ? null : (c.watermark > 1e12 ? new Date(c.watermark).toISOString() : String(c.watermark)); } },
    { key: 'errors', label: 'errors', get: function (c) { return c.errors; } },
    { key: 'lastError', label: 'last error', text: true, error: true, get: function (c) { return c.lastError ? c.lastError.message : null; } }
  ];

  function drawHead(table, columns, sortable) {
    var head = table.querySelector('thead');
    while (head.firstChild) head.removeChild(head.firstChild);
    var tr = el('tr');
    columns.forEach(function (col) {
      var th = el('th', { 'data-key': col.key, scope: 'col' }, col.label);
      if (col.text) th.className = 'text';
      if (sortable) {
        th.setAttribute('title', 'sort by ' + col.label);
        if (sort.key === col.key) th.setAttribute('aria-sort', sort.dir > 0 ? 'ascending' : 'descending');
        th.addEventListener('click', function () {
          if (sort.key === col.key) sort.dir = -sort.dir;
          else { sort.key = col.key; sort.dir = col.text ? 1 : -1; }
          drawHead(table, columns, true);
          renderComponents();
        });
      }
      tr.appendChild(th);
    });
    head.appendChild(tr);
  }

  function compare(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined) return 1;
    if (b === null || b === undefined) return -1;
    return a < b ? -1 : 1;
  }

  function renderComponents() {
    if (!state) return;
    var body = byId('components').querySelector('tbody');
    var rows = state.components.map(function (c, i) { return { c: c, i: i }; });
    var col = null;
    COLUMNS.forEach(function (k) { if (k.key === sort.key) col = k; });
    rows.sort(function (x, y) {
      if ((x.c.kind === 'acker') !== (y.c.kind === 'acker')) return x.c.kind === 'acker' ? 1 : -1;
      if (!col) return x.i - y.i;
      var a = col.get(x.c), b = col.get(y.c);
      if (a === null || b === null) return compare(a, b) || x.i - y.i;
      return sort.dir * compare(a, b) || x.i - y.i;
    });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) {
      var c = row.c;
      var tr = el('tr', { 'data-component': c.id, class: c.kind });
      COLUMNS.forEach(function (k) {
        var v = k.get(c);
        var td = el('td', { 'data-key': k.key });
        if (v !== null && v !== undefined) td.setAttribute('data-value', String(v));
        if (k.text) td.className = 'text';
        if (k.error) {
          td.className = 'error';
          if (c.lastError) {
            td.textContent = c.lastError.message + ' (' + (c.lastError.code || 'error') + ', task ' + c.lastError.task + ', x' + int(c.lastError.count) + ')';
            td.setAttribute('data-count', String(c.lastError.count));
          }
        } else if (k.cap) {
          if (v !== null) {
            var span = el('span', { class: 'cap' }, v.toFixed(3));
            span.style.backgroundColor = loadColour(v);
            td.appendChild(span);
          }
        } else if (k.text) td.textContent = v === null ? '' : v;
        else td.textContent = k.ms ? ms(v) : int(v);
        tr.appendChild(td);
      });
      fragment.appendChild(tr);
    });
    while (body.firstChild) body.removeChild(body.firstChild);
    body.appendChild(fragment);
  }

  // -- the hosts table -------------------------------------------------------
  var HOST_COLUMNS = [
    { key: 'host', label: 'host', get: function (h) { return h.host; } },
    { key: 'state', label: 'state', text: true, get: function (h) { return h.state; } },
    { key: 'restarts', label: 'restarts', get: function (h) { return h.restarts; } },
    { key: 'tasks', label: 'tasks', get: function (h) { return h.tasks; } },
    { key: 'emitted', label: 'emitted', get: function (h) { return h.emitted; } },
    { key: 'executed', label: 'executed', get: function (h) { return h.executed; } },
    { key: 'acked', label: 'acked', get: function (h) { return h.acked; } },
    { key: 'failed', label: 'failed', get: function (h) { return h.failed; } },
    { key: 'queued', label: 'queued', get: function (h) { return h.queued; } },
    { key: 'lastCrash', label: 'last crash', text: true, error: true, get: function (h) { return h.lastCrash; } }
  ];

  function renderHosts() {
    var body = byId('hosts').querySelector('tbody');
    while (body.firstChild) body.removeChild(body.firstChild);
    state.hosts.forEach(function (h) {
      var tr = el('tr', { 'data-host': String(h.host) });
      HOST_COLUMNS.forEach(function (k) {
        var v = k.get(h);
        var td = el('td', { 'data-key': k.key }, v === null ? '' : k.text ? v : int(v));
        if (v !== null) td.setAttribute('data-value', String(v));
        td.className = k.error ? 'error' : k.text ? 'text' : '';
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  // -- stuck tuples ----------------------------------------------------------
  function renderStuck() {
    var section = byId('stuck-section');
    var traces = state.traces;
    section.hidden = traces.count === 0 && state.stuck.length === 0;
    if (section.hidden) return;
    setText('stuck-summary', int(traces.count) + ' traced tree' + (traces.count === 1 ? '' : 's') + ' timed out' +
      (traces.latest.length < traces.count ? ' (the latest ' + traces.latest.length + ' below)' : '') + '; ' +
      int(state.stuck.length) + ' task' + (state.stuck.length === 1 ? '' : 's') + ' stuck now.');
    var tasks = byId('stuck-tasks').querySelector('tbody');
    while (tasks.firstChild) tasks.removeChild(tasks.firstChild);
    state.stuck.forEach(function (t) {
      var tr = el('tr', { class: 'stuck', 'data-component': t.component, 'data-task': String(t.task) });
      tr.appendChild(el('td', { class: 'text' }, t.component));
      tr.appendChild(el('td', {}, String(t.task)));
      tr.appendChild(el('td', {}, String(t.host)));
      tr.appendChild(el('td', { 'data-value': String(t.forMs) }, (t.forMs / 1000).toFixed(1)));
      tr.appendChild(el('td', {}, int(t.queued)));
      tasks.appendChild(tr);
    });
    var body = byId('traces').querySelector('tbody');
    while (body.firstChild) body.removeChild(body.firstChild);
    traces.latest.slice().reverse().forEach(function (t) {
      var holders = t.holders.length > 0 ? t.holders : [null];
      holders.forEach(function (h) {
        var tr = el('tr', { 'data-spout': t.spout });
        tr.appendChild(el('td', { class: 'text' }, new Date(t.wallMs).toLocaleTimeString()));
        tr.appendChild(el('td', { class: 'text' }, t.spout + ' [' + t.spoutTask + ']'));
        tr.appendChild(el('td', { 'data-value': String(t.ageMs) }, (t.ageMs / 1000).toFixed(1)));
        tr.appendChild(el('td', { class: 'text', 'data-key': 'holder' }, h === null ? 'no task (lost?)' : h.component));
        tr.appendChild(el('td', { 'data-key': 'task' }, h === null ? '' : String(h.task)));
        tr.appendChild(el('td', { 'data-value': h === null ? '' : String(h.heldMs) }, h === null ? '' : (h.exact ? '' : '\u2264 ') + (h.heldMs / 1000).toFixed(1)));
        tr.appendChild(el('td', {}, h === null ? '' : int(h.queued)));
        body.appendChild(tr);
      });
    });
  }

  // -- checkpoints -----------------------------------------------------------
  function renderCheckpoints() {
    var cp = state.checkpoints;
    var section = byId('checkpoints-section');
    section.hidden = cp === null;
    if (cp === null) return;
    var list = byId('checkpoints');
    while (list.firstChild) list.removeChild(list.firstChild);
    [
      ['completed', int(cp.completed), 'completed'],
      ['aborted', int(cp.aborted), 'aborted'],
      ['newest', cp.lastCompletedId > 0 ? String(cp.lastCompletedId) : 'none yet', 'lastCompletedId'],
      ['in flight', cp.inFlight === null ? '-' : String(cp.inFlight), 'inFlight'],
      ['last took', cp.lastCompletedId > 0 ? ms(cp.lastDurationMs) + ' ms' : '-', 'lastDurationMs'],
      ['restored from', cp.restoredFrom === null ? '-' : String(cp.restoredFrom), 'restoredFrom'],
      ['rollbacks', int(cp.rollbacks), 'rollbacks'],
      ['last abort', cp.lastAbortReason === null ? '-' : cp.lastAbortReason, 'lastAbortReason']
    ].forEach(function (f) {
      list.appendChild(el('dt', {}, f[0]));
      list.appendChild(el('dd', { 'data-key': f[2] }, f[1]));
    });
  }

  // -- charts ----------------------------------------------------------------
  function niceStep(max) {
    var raw = max / 4;
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  function lineChart(id, legendId, series, format) {
    var root = byId(id);
    var W = Math.max(300, root.clientWidth || 560), H = 190;
    var L = 54, R = 10, T = 8, B = 22;
    while (root.firstChild) root.removeChild(root.firstChild);
    root.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var now = points.length > 0 ? points[points.length - 1].time : Date.now();
    // The window grows with the run from one minute to the whole history.
    var longest = (layout ? layout.historySeconds : 300) * 1000;
    var span = Math.min(longest, Math.max(60000, points.length > 0 ? now - points[0].time : 0));
    var t0 = now - span;
    var max = 0;
    points.forEach(function (p) { series.forEach(function (s) { var v = p[s.key]; if (v !== null && v > max) max = v; }); });
    var step = max > 0 ? niceStep(max * 1.05) : 1;
    var top = max > 0 ? Math.ceil((max * 1.05) / step) * step : 4;
    if (max <= 0) step = 1;
    function x(t) { return L + ((t - t0) / span) * (W - L - R); }
    function y(v) { return T + (1 - v / top) * (H - T - B); }
    for (var v = 0; v <= top + step / 2; v += step) {
      root.appendChild(svg('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      root.appendChild(svg('text', { class: 'axis', x: L - 6, y: y(v) + 3, 'text-anchor': 'end' }, format(v)));
    }
    var tick = [10, 15, 30, 60, 120, 300].map(function (s) { return s * 1000; }).filter(function (s) { return span / s <= 6; })[0] || 600000;
    for (var back = 0; back <= span + 1; back += tick) {
      var when = back === 0 ? 'now' : span > 120000 ? '-' + Math.round(back / 6000) / 10 + ' min' : '-' + back / 1000 + ' s';
      root.appendChild(svg('text', { class: 'axis', x: x(now - back), y: H - 6, 'text-anchor': back === 0 ? 'end' : back + tick > span + 1 ? 'start' : 'middle' }, when));
    }
    series.forEach(function (s, i) {
      var d = '';
      var pen = false;
      points.forEach(function (p) {
        var v = p[s.key];
        if (v === null || p.time < t0) { pen = false; return; }
        d += (pen ? ' L ' : ' M ') + x(p.time).toFixed(1) + ' ' + y(v).toFixed(1);
        pen = true;
      });
      if (d !== '') root.appendChild(svg('path', { class: 'line s' + i, d: d, 'data-series': s.key }));
    });
    var legend = byId(legendId);
    if (!legend.firstChild) series.forEach(function (s, i) { legend.appendChild(el('span', { class: 's' + i }, s.label)); });
  }

  function renderCharts() {
    lineChart('chart-throughput', 'legend-throughput', [
      { key: 'emitted', label: 'emitted' },
      { key: 'acked', label: 'trees acked' },
      { key: 'failed', label: 'trees failed' },
      { key: 'timedOut', label: 'trees timed out' }
    ], rate);
    lineChart('chart-latency', 'legend-latency', [
      { key: 'p50', label: 'p50' },
      { key: 'p99', label: 'p99' }
    ], function (v) { return v >= 100 ? String(Math.round(v)) : String(Math.round(v * 100) / 100); });
  }

  // -- controls --------------------------------------------------------------
  var CONTROLS = [
    { op: 'activate', label: 'Activate', when: ['inactive'], ask: 'Activate topology {}? Its spouts start emitting again.' },
    { op: 'deactivate', label: 'Deactivate', when: ['active'], ask: 'Deactivate topology {}? Its spouts stop emitting; trees in flight finish.' },
    { op: 'rebalance', label: 'Rebalance', when: ['active', 'inactive'], threadsOnly: true, ask: 'Rebalance topology {} onto {n} threads? Trees in flight are drained first.' },
    { op: 'kill', label: 'Kill', when: ['active', 'inactive'], danger: true, ask: 'Kill topology {}? It stops gracefully, waiting for trees in flight, and the run ends.' }
  ];
  var buttons = {};

  function drawControls() {
    var box = byId('controls');
    if (readOnly) { box.appendChild(el('span', { class: 'read-only' }, 'read-only')); return; }
    CONTROLS.forEach(function (c) {
      var b = el('button', { type: 'button', id: 'control-' + c.op, 'data-op': c.op }, c.label);
      if (c.danger) b.className = 'danger';
      b.disabled = true;
      b.addEventListener('click', function () { control(c); });
      box.appendChild(b);
      buttons[c.op] = b;
    });
  }

  function updateControls() {
    CONTROLS.forEach(function (c) {
      var b = buttons[c.op];
      if (!b) return;
      var ok = !ended && c.when.indexOf(state.status) >= 0 && (!c.threadsOnly || state.mode === 'threads');
      b.disabled = !ok;
      b.title = c.threadsOnly && state.mode !== 'threads' ? 'only a run with --threads can be rebalanced' : '';
    });
  }

  function say(text, error) {
    var m = byId('message');
    m.textContent = text;
    m.className = 'message' + (error ? ' error' : '');
  }

  function control(c) {
    var name = layout ? layout.topology : '';
    var body = {};
    if (c.op === 'rebalance') {
      var answer = window.prompt('Rebalance topology ' + name + ': how many threads?', String(state ? state.threads : 1));
      if (answer === null) return;
      body.threads = Number(answer);
    }
    if (!window.confirm(c.ask.replace('{}', name).replace('{n}', String(body.threads)))) return;
    say(c.label + ': sent');
    fetch('/api/' + c.op, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-squall-token': token },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (reply) {
        if (reply.ok && c.op === 'kill') say('Kill: the run is stopping; it ends once its trees in flight are done');
        else if (reply.ok) say(c.label + ': done' + (reply.result && reply.result.status ? ' (' + reply.result.status + ')' : ''));
        else say(c.label + ' refused: ' + reply.error.code + ': ' + reply.error.message, true);
      });
    }).catch(function (err) { say(c.label + ' failed: ' + err, true); });
  }

  // -- state -----------------------------------------------------------------
  function render() {
    document.body.setAttribute('data-seq', String(state.seq));
    var st = byId('status');
    st.textContent = state.status;
    st.className = 'status ' + state.status;
    setText('mode', state.mode === 'threads' ? state.threads + ' threads (' + state.strategy + ')' : 'local');
    setText('uptime', duration(state.uptimeMs));
    setText('total-emitted', int(state.totals.emitted));
    setText('total-acked', int(state.totals.acked));
    setText('total-failed', int(state.totals.failed));
    setText('total-timed-out', int(state.totals.timedOut));
    setText('total-pending', int(state.totals.pending));
    updateGraph();
    renderComponents();
    renderHosts();
    renderCheckpoints();
    renderStuck();
    renderCharts();
    updateControls();
  }

  drawControls();
  drawHead(byId('components'), COLUMNS, true);
  drawHead(byId('hosts'), HOST_COLUMNS, false);
  var events = new EventSource('/events');
  events.addEventListener('layout', function (e) {
    layout = JSON.parse(e.data);
    setText('run-id', layout.runId);
    drawGraph();
  });
  events.addEventListener('points', function (e) { points = JSON.parse(e.data); });
  events.addEventListener('state', function (e) {
    state = JSON.parse(e.data);
    if (points.length === 0 || points[points.length - 1].time < state.point.time) points.push(state.point);
    var since = state.point.time - (layout ? layout.historySeconds : 300) * 1000;
    while (points.length > 0 && points[0].time < since) points.shift();
    setText('connection', 'live');
    byId('connection').className = 'connection';
    render();
  });
  events.addEventListener('end', function () {
    ended = true;
    events.close();
    var st = byId('status');
    st.textContent = 'ended';
    st.className = 'status ended';
    setText('connection', 'the run has ended; these are its last figures');
    if (state) updateControls();
  });
  events.onerror = function () {
    if (ended) return;
    setText('connection', 'connection lost: retrying');
    byId('connection').className = 'connection down';
  };
  window.addEventListener('resize', function () { if (state) renderCharts(); });
})();
`;
