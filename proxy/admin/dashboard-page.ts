/**
 * The dashboard (SPEC §8 `GET /`): one self-contained page, its style and script inline, nothing
 * from other origins. It reads the admin API only: `/api/config` once, `/api/violations?limit=`
 * and the SSE stream `/api/events` for the live list, `/api/stats` every second for counts,
 * in-flight load and the background state; `POST /api/background` for the "Background" control.
 *
 * The list is bounded: the page keeps the newest MAX_KEPT events and draws one page of them,
 * redrawn at most every 100 ms however fast events come, so 10,000 violations stay cheap. Event
 * text goes into the DOM with textContent only. The script avoids backticks and `${`: it lives in
 * a TypeScript template string.
 */

export const DASHBOARD_STYLE = String.raw`
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--box:#f6f8fa;--line:#d0d7de;--accent:#0b5cad;--err:#cf222e;--warn:#9a6700;--info:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--box:#161b22;--line:#30363d;--accent:#58a6ff;--err:#ff7b72;--warn:#d29922;--info:#58a6ff}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.6rem 1rem;border-bottom:1px solid var(--line);background:var(--box)}
header h1{font-size:1.15rem;margin:0}
.badge{border:1px solid var(--line);border-radius:1rem;padding:.05rem .55rem;font-size:.85rem}
#live.on{color:#1a7f37}#live.off{color:var(--err)}
.spacer{flex:1}
button,select,input{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:.3rem .6rem}
button{cursor:pointer}button:disabled{opacity:.6;cursor:default}
#background[aria-pressed=true]{background:#d29922;border-color:#9a6700;color:#111;font-weight:600}
a{color:var(--accent)}
main{display:grid;grid-template-columns:minmax(0,1fr) 20rem;gap:1rem;padding:1rem;align-items:start}
@media (max-width:900px){main{grid-template-columns:minmax(0,1fr)}}
section{border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem;margin-bottom:1rem;min-width:0}
h2{font-size:1rem;margin:0 0 .5rem}h2 .muted{font-weight:normal;font-size:.85rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25rem .4rem;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:.85rem}
.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:var(--muted)}
.filters{display:flex;flex-wrap:wrap;gap:.4rem;margin-bottom:.5rem}
.filters input{flex:1;min-width:8rem}
.pager{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem;margin:.5rem 0}
#list td{font-size:.88rem}
#list .url{word-break:break-all}
.sev-error{color:var(--err);font-weight:600}.sev-warning{color:var(--warn);font-weight:600}.sev-info{color:var(--info)}
.rule{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
#counts button{border:0;padding:0;background:none;color:var(--accent);text-align:left}
meter{width:5rem;vertical-align:middle}
.qr svg{display:block;width:11rem;height:auto;margin:.3rem 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.15rem .6rem;margin:0}dt{color:var(--muted)}dd{margin:0;word-break:break-all}
#error{color:var(--err);margin:.5rem 1rem 0}#error:empty{display:none}
#ca-notice{border-left:4px solid var(--err);margin:.5rem 1rem 0;padding:.3rem .7rem}
#list .rule{white-space:nowrap}
@media (max-width:640px){
  main{padding:.5rem}
  #list thead{display:none}
  #list tr{display:block;border-bottom:1px solid var(--line);padding:.3rem 0}
  #list td{display:inline;border:0;padding:0 .4rem 0 0}
  #list td.msg,#list td.url{display:block}
}
`;

export const DASHBOARD_SCRIPT = String.raw`
'use strict';
var MAX_KEPT = 5000, PAGE = 100, FIRST_LOAD = 2000;
var events = [], offset = 0, caps = { http: 10, socket: 5 }, background = false, drawTimer = 0;
var $ = function (id) { return document.getElementById(id); };
function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
function showError(text) { if ($('error').textContent !== (text || '')) $('error').textContent = text || ''; }
function getJson(path) { return fetch(path, { cache: 'no-store' }).then(function (r) { if (!r.ok) throw new Error(path + ': HTTP ' + r.status); return r.json(); }); }

function filters() { return { rule: $('f-rule').value, severity: $('f-severity').value, host: $('f-host').value.trim().toLowerCase() }; }
function matches(v, f) {
  return (!f.rule || v.rule === f.rule) && (!f.severity || v.severity === f.severity) && (!f.host || String(v.host || '').toLowerCase().indexOf(f.host) >= 0);
}
function scheduleDraw() { if (!drawTimer) drawTimer = setTimeout(function () { drawTimer = 0; draw(); }, 100); }

var knownRules = {};
function noteRule(rule) {
  if (knownRules[rule]) return;
  knownRules[rule] = true;
  var sel = $('f-rule'), names = Object.keys(knownRules).sort(), keep = sel.value;
  sel.replaceChildren(el('option', 'every rule'));
  sel.firstChild.value = '';
  names.forEach(function (n) { var o = el('option', n); o.value = n; sel.appendChild(o); });
  sel.value = keep;
}

function add(v, live) {
  events.push(v);
  if (events.length > MAX_KEPT + 500) events.splice(0, events.length - MAX_KEPT);
  noteRule(v.rule);
  // Reading older pages: keep the same rows in view while new ones arrive.
  if (live && offset > 0 && matches(v, filters())) offset++;
  if (live) refreshStatsSoon();
  scheduleDraw();
}

function time(iso) { var d = new Date(iso); return isNaN(d) ? String(iso) : d.toTimeString().slice(0, 8) + '.' + String(d.getMilliseconds()).padStart(3, '0'); }

function draw() {
  var f = filters(), picked = [];
  for (var i = events.length - 1; i >= 0; i--) if (matches(events[i], f)) picked.push(events[i]);
  if (offset >= picked.length) offset = Math.max(0, Math.floor((picked.length - 1) / PAGE) * PAGE);
  var rows = document.createDocumentFragment();
  picked.slice(offset, offset + PAGE).forEach(function (v) {
    var tr = el('tr');
    tr.appendChild(el('td', time(v.time), 'muted'));
    tr.appendChild(el('td', v.severity, 'sev-' + v.severity));
    tr.appendChild(el('td', v.rule, 'rule'));
    tr.appendChild(el('td', v.api ? v.api + ' ' + (v.method || '') : 'tls'));
    tr.appendChild(el('td', v.url || (v.host + (v.port ? ':' + v.port : '')), 'url'));
    tr.appendChild(el('td', v.client || '', 'muted'));
    tr.appendChild(el('td', v.action));
    tr.appendChild(el('td', v.message, 'msg'));
    rows.appendChild(tr);
  });
  $('rows').replaceChildren(rows);
  $('empty').hidden = picked.length > 0;
  var from = picked.length ? offset + 1 : 0, to = Math.min(offset + PAGE, picked.length);
  $('page').textContent = from + '–' + to + ' of ' + picked.length.toLocaleString() + ' shown (newest first; the page keeps the newest ' + MAX_KEPT.toLocaleString() + ')';
  $('newer').disabled = offset === 0;
  $('newest').disabled = offset === 0;
  $('older').disabled = offset + PAGE >= picked.length;
}

function loadList() {
  return getJson('/api/violations?limit=' + FIRST_LOAD).then(function (body) {
    var pending = events.slice(loadMark);
    var seen = {};
    body.violations.forEach(function (v) { seen[JSON.stringify(v)] = true; });
    events = [];
    body.violations.forEach(function (v) { add(v, false); });
    pending.forEach(function (v) { if (!seen[JSON.stringify(v)]) add(v, false); });
  });
}

var loadMark = 0;
function connect() {
  var es = new EventSource('/api/events');
  es.addEventListener('violation', function (e) { add(JSON.parse(e.data), true); });
  es.onopen = function () {
    $('live').textContent = 'live'; $('live').className = 'badge on';
    // (Re)connected: fetch what is kept, then merge what streamed in meanwhile.
    loadMark = events.length;
    loadList().catch(function (err) { showError(err.message); });
  };
  es.onerror = function () { $('live').textContent = 'reconnecting…'; $('live').className = 'badge off'; };
}

function drawStats(s, withBackground) {
  $('t-requests').textContent = s.requests.toLocaleString();
  $('t-violations').textContent = s.violations.toLocaleString();
  var counts = document.createDocumentFragment(), rules = Object.keys(s.byRule).sort(function (a, b) { return s.byRule[b] - s.byRule[a]; });
  rules.forEach(function (rule) {
    noteRule(rule);
    var tr = el('tr'), td = el('td'), b = el('button', rule, 'rule');
    b.type = 'button'; b.title = 'show only ' + rule;
    b.addEventListener('click', function () { $('f-rule').value = rule; offset = 0; draw(); });
    td.appendChild(b); tr.appendChild(td); tr.appendChild(el('td', s.byRule[rule].toLocaleString(), 'num'));
    counts.appendChild(tr);
  });
  $('count-rows').replaceChildren(counts);
  $('no-counts').hidden = rules.length > 0;
  var load = document.createDocumentFragment(), clients = Object.keys(s.inFlight).sort();
  clients.forEach(function (c) {
    var tr = el('tr'); tr.appendChild(el('td', c));
    ['http', 'socket'].forEach(function (k) {
      var td = el('td'), m = el('meter'), n = s.inFlight[c][k];
      m.min = 0; m.max = caps[k]; m.value = n; m.high = caps[k] - 0.5; m.optimum = 0;
      td.appendChild(m); td.appendChild(document.createTextNode(' ' + n + '/' + caps[k]));
      tr.appendChild(td);
    });
    load.appendChild(tr);
  });
  $('load-rows').replaceChildren(load);
  $('no-load').hidden = clients.length > 0;
  if (withBackground) setBackground(s.background);
}

function setBackground(on) {
  background = on;
  $('background').setAttribute('aria-pressed', String(on));
  $('bg-state').textContent = on ? 'on: new requests get 403 background-call' : 'off';
}

// Counts, load and background state: every second, and soon after a violation streams in
// (never later than already planned, so a flood cannot keep postponing it). One fetch at a time.
var bgSeq = 0, bgPending = false;
var statsBusy = false, statsAgain = false, statsTimer = 0, statsDue = 0;
function scheduleStats(ms) {
  var due = Date.now() + ms;
  if (statsTimer && statsDue <= due) return;
  clearTimeout(statsTimer);
  statsDue = due;
  statsTimer = setTimeout(function () { statsTimer = 0; refreshStats(); }, ms);
}
function refreshStats() {
  if (statsBusy) { statsAgain = true; return; }
  statsBusy = true;
  // A poll that started before a Background click finished must not undo what the click did.
  var seq = bgSeq;
  getJson('/api/stats').then(function (s) { drawStats(s, seq === bgSeq && !bgPending); showError(''); }, function (err) { showError(err.message); })
    .finally(function () {
      statsBusy = false;
      if (statsAgain) { statsAgain = false; scheduleStats(150); }
      scheduleStats(1000);
    });
}
function refreshStatsSoon() { if (statsBusy) statsAgain = true; else scheduleStats(150); }

function drawConfig(c) {
  caps = { http: c.concurrency.http, socket: c.concurrency.socket };
  $('caps').textContent = '(caps: ' + caps.http + ' requests, ' + caps.socket + ' sockets)';
  $('mode').textContent = c.mode;
  var dl = $('config'), pairs = [['appid', c.appid], ['version', c.version], ['mode', c.mode], ['config', c.file || 'built-in defaults']];
  ['request', 'uploadFile', 'downloadFile', 'socket'].forEach(function (k) { pairs.push([k, c.domains[k].length ? c.domains[k].join(', ') : '(none)']); });
  pairs.push(['proxy', c.proxy ? c.proxy.url : '?']);
  dl.replaceChildren();
  pairs.forEach(function (p) { dl.appendChild(el('dt', p[0])); dl.appendChild(el('dd', p[1])); });
  var box = $('phones');
  box.replaceChildren();
  if (!c.phones.length) {
    box.appendChild(el('p', 'The proxy listens on ' + (c.proxy ? c.proxy.host : '?') + ': phones cannot reach it. Start it with --host 0.0.0.0 for phones on this Wi-Fi.', 'muted'));
  }
  c.phones.forEach(function (p) {
    var fig = el('div', undefined, 'qr');
    fig.innerHTML = p.qrSvg; // drawn by the proxy (proxy/qr.ts): only rect and path elements
    box.appendChild(fig);
    var d = el('dl');
    [['Wi-Fi proxy', p.proxy], ['PAC', p.pac], ['page', p.onboarding]].forEach(function (x) { d.appendChild(el('dt', x[0])); d.appendChild(el('dd', x[1])); });
    box.appendChild(d);
  });
  if (c.onboarding) {
    var a = el('a', 'this computer\'s onboarding page'); a.href = c.onboarding; a.id = 'onboarding-link';
    var line = el('p'); line.appendChild(a); box.appendChild(line);
  }
}

$('background').addEventListener('click', function () {
  var btn = $('background'), want = !background;
  btn.disabled = true;
  bgPending = true;
  bgSeq++;
  fetch('/api/background', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ background: want }) })
    .then(function (r) { if (!r.ok) throw new Error('POST /api/background: HTTP ' + r.status); return r.json(); })
    .then(function (b) { setBackground(b.background); showError(''); }, function (err) { showError(err.message); })
    .finally(function () { btn.disabled = false; bgPending = false; bgSeq++; });
});
['f-rule', 'f-severity'].forEach(function (id) { $(id).addEventListener('change', function () { offset = 0; draw(); }); });
$('f-host').addEventListener('input', function () { offset = 0; scheduleDraw(); });
$('newest').addEventListener('click', function () { offset = 0; draw(); });
$('newer').addEventListener('click', function () { offset = Math.max(0, offset - PAGE); draw(); });
$('older').addEventListener('click', function () { offset += PAGE; draw(); });

getJson('/api/config').then(drawConfig, function (err) { showError(err.message); });
connect();
refreshStats();
draw();
`;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `caNotice`: the CA was replaced at this start (SPEC §5); shown until the proxy restarts. */
export function renderDashboardPage(caNotice?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,">
<title>mgproxy dashboard</title>
<style>${DASHBOARD_STYLE}</style></head>
<body>
<header>
<h1>mgproxy</h1>
<span class="badge" id="mode" title="mode">…</span>
<span class="badge" id="live">connecting…</span>
<span class="muted"><span id="t-requests">0</span> requests, <span id="t-violations">0</span> violations</span>
<span class="spacer"></span>
<button type="button" id="background" aria-pressed="false" title="Background mode: requests that start get 403 background-call; those in flight are cut after 5 s">Background</button>
<span id="bg-state" class="muted">off</span>
<a href="/ca.pem" id="ca-link" download>CA certificate (ca.pem)</a>
</header>
${caNotice ? `<p id="ca-notice" role="alert">${escapeHtml(caNotice)}</p>
` : ''}<p id="error" role="alert"></p>
<main>
<div>
<section aria-labelledby="h-violations">
<h2 id="h-violations">Violations</h2>
<div class="filters">
<select id="f-rule" aria-label="rule"><option value="">every rule</option></select>
<select id="f-severity" aria-label="severity"><option value="">every severity</option><option value="error">error</option><option value="warning">warning</option><option value="info">info</option></select>
<input id="f-host" type="search" placeholder="host contains…" aria-label="host">
</div>
<div class="pager"><button type="button" id="newest">Newest</button><button type="button" id="newer">Newer</button><button type="button" id="older">Older</button><span id="page" class="muted"></span></div>
<table id="list"><thead><tr><th>time</th><th>severity</th><th>rule</th><th>api</th><th>url</th><th>client</th><th>action</th><th>message</th></tr></thead>
<tbody id="rows"></tbody></table>
<p id="empty" class="muted">No violations yet. They appear here as they happen.</p>
</section>
</div>
<div>
<section aria-labelledby="h-counts" id="counts">
<h2 id="h-counts">By rule</h2>
<table><tbody id="count-rows"></tbody></table>
<p id="no-counts" class="muted">None yet.</p>
</section>
<section aria-labelledby="h-load">
<h2 id="h-load">In flight per client <span id="caps" class="muted"></span></h2>
<table><thead><tr><th>client</th><th>requests</th><th>sockets</th></tr></thead><tbody id="load-rows"></tbody></table>
<p id="no-load" class="muted">Nothing in flight.</p>
</section>
<section aria-labelledby="h-phones">
<h2 id="h-phones">Phones</h2>
<div id="phones"></div>
</section>
<section aria-labelledby="h-config">
<h2 id="h-config">Config</h2>
<dl id="config"></dl>
</section>
</div>
</main>
<script>${DASHBOARD_SCRIPT}</script>
</body></html>
`;
}
