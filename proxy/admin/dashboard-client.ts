/// <reference lib="dom" />
/**
 * The dashboard's script (SPEC §8 `GET /`), run in the browser. tsc type-checks it with the
 * server's own types (the shapes of `/api/stats`, `/api/config` and the violation events are
 * imported, types only, so nothing is emitted for them), and `dashboard-page.ts` inlines the
 * compiled file into the page, named in the CSP by its hash.
 *
 * The page is made of views: each draws its part from the config (once), the stats (every second)
 * and each violation (live). Adding one is a section in `dashboard-page.ts` and an entry in VIEWS.
 *
 * The list is bounded: the page keeps the newest MAX_KEPT events and draws one page of them,
 * redrawn at most every 100 ms however fast events come, so 10,000 violations stay cheap. Event
 * text goes into the DOM with textContent only.
 */
import type { Violation } from '../events.js';
import type { stats } from './api.js';
import type { configSummary } from './dashboard.js';
import type { NetworkConfig, NetworkRule } from '../../config/network.js';

type Stats = ReturnType<typeof stats>;
type DashboardConfig = ReturnType<typeof configSummary>;

/** One part of the page. */
interface View {
  config?(c: DashboardConfig): void;
  /** `settled` is false while a Background click is under way: the poll may predate it. */
  stats?(s: Stats, settled: boolean): void;
  /** `live`: streamed now, not part of the first load. */
  violation?(v: Violation, live: boolean): void;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function showError(text?: string): void {
  if ($('error').textContent !== (text ?? '')) $('error').textContent = text ?? '';
}
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

// ---- Violations: the filtered, paged live list and the rule filter.

const MAX_KEPT = 5000, PAGE = 100, FIRST_LOAD = 2000;
let events: Violation[] = [];
let offset = 0;
let drawTimer = 0;

interface Filters { rule: string; severity: string; host: string }
function filters(): Filters {
  return { rule: $<HTMLSelectElement>('f-rule').value, severity: $<HTMLSelectElement>('f-severity').value, host: $<HTMLInputElement>('f-host').value.trim().toLowerCase() };
}
function matches(v: Violation, f: Filters): boolean {
  return (!f.rule || v.rule === f.rule) && (!f.severity || v.severity === f.severity) && (!f.host || String(v.host || '').toLowerCase().includes(f.host));
}
function scheduleDraw(): void {
  if (!drawTimer) drawTimer = window.setTimeout(() => { drawTimer = 0; draw(); }, 100);
}

const knownRules = new Set<string>();
function noteRule(rule: string): void {
  if (knownRules.has(rule)) return;
  knownRules.add(rule);
  const sel = $<HTMLSelectElement>('f-rule'), keep = sel.value;
  const every = el('option', 'every rule');
  every.value = '';
  sel.replaceChildren(every);
  for (const n of [...knownRules].sort()) { const o = el('option', n); o.value = n; sel.appendChild(o); }
  sel.value = keep;
}

function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : `${d.toTimeString().slice(0, 8)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function draw(): void {
  const f = filters(), picked: Violation[] = [];
  for (let i = events.length - 1; i >= 0; i--) if (matches(events[i]!, f)) picked.push(events[i]!);
  if (offset >= picked.length) offset = Math.max(0, Math.floor((picked.length - 1) / PAGE) * PAGE);
  const rows = document.createDocumentFragment();
  for (const v of picked.slice(offset, offset + PAGE)) {
    const tr = el('tr');
    tr.appendChild(el('td', time(v.time), 'muted'));
    tr.appendChild(el('td', v.severity, `sev-${v.severity}`));
    tr.appendChild(el('td', v.rule, 'rule'));
    tr.appendChild(el('td', v.api ? `${v.api} ${v.method ?? ''}` : 'tls'));
    tr.appendChild(el('td', v.url ?? (v.host + (v.port ? `:${v.port}` : '')), 'url'));
    tr.appendChild(el('td', v.client ?? '', 'muted'));
    tr.appendChild(el('td', v.action));
    tr.appendChild(el('td', v.message, 'msg'));
    rows.appendChild(tr);
  }
  $('rows').replaceChildren(rows);
  $('empty').hidden = picked.length > 0;
  const from = picked.length ? offset + 1 : 0, to = Math.min(offset + PAGE, picked.length);
  $('page').textContent = `${from}–${to} of ${picked.length.toLocaleString()} shown (newest first; the page keeps the newest ${MAX_KEPT.toLocaleString()})`;
  $<HTMLButtonElement>('newer').disabled = offset === 0;
  $<HTMLButtonElement>('newest').disabled = offset === 0;
  $<HTMLButtonElement>('older').disabled = offset + PAGE >= picked.length;
}

function keep(v: Violation, live: boolean): void {
  events.push(v);
  if (events.length > MAX_KEPT + 500) events.splice(0, events.length - MAX_KEPT);
  noteRule(v.rule);
  // Reading older pages: keep the same rows in view while new ones arrive.
  if (live && offset > 0 && matches(v, filters())) offset++;
  scheduleDraw();
}

const violationsView: View = {
  violation: keep,
  stats: (s) => { for (const rule of Object.keys(s.byRule)) noteRule(rule); },
};
for (const id of ['f-rule', 'f-severity']) $(id).addEventListener('change', () => { offset = 0; draw(); });
$('f-host').addEventListener('input', () => { offset = 0; scheduleDraw(); });
$('newest').addEventListener('click', () => { offset = 0; draw(); });
$('newer').addEventListener('click', () => { offset = Math.max(0, offset - PAGE); draw(); });
$('older').addEventListener('click', () => { offset += PAGE; draw(); });

// ---- Totals and counts by rule (a click filters the list).

const countsView: View = {
  stats: (s) => {
    $('t-requests').textContent = s.requests.toLocaleString();
    $('t-violations').textContent = s.violations.toLocaleString();
    const byRule = s.byRule as Record<string, number>;
    const counts = document.createDocumentFragment(), rules = Object.keys(byRule).sort((a, b) => byRule[b]! - byRule[a]!);
    for (const rule of rules) {
      const tr = el('tr'), td = el('td'), b = el('button', rule, 'rule');
      b.type = 'button'; b.title = `show only ${rule}`;
      b.addEventListener('click', () => { $<HTMLSelectElement>('f-rule').value = rule; offset = 0; draw(); });
      td.appendChild(b); tr.appendChild(td); tr.appendChild(el('td', byRule[rule]!.toLocaleString(), 'num'));
      counts.appendChild(tr);
    }
    $('count-rows').replaceChildren(counts);
    $('no-counts').hidden = rules.length > 0;
  },
};

// ---- Violations per platform (SPEC §12): a row per platform checked, the first decides.

const platformsView: View = {
  stats: (s) => {
    const rows = document.createDocumentFragment();
    s.byPlatform.forEach((p, i) => {
      const tr = el('tr');
      tr.appendChild(el('td', i === 0 ? `${p.title} (decides)` : p.title));
      tr.appendChild(el('td', p.violations.toLocaleString(), 'num'));
      tr.appendChild(el('td', p.errors.toLocaleString(), 'num'));
      rows.appendChild(tr);
    });
    $('platform-rows').replaceChildren(rows);
  },
};

// ---- In flight per client, against the caps.

let caps = { http: 10, socket: 5 };
const loadView: View = {
  config: (c) => {
    caps = { http: c.concurrency.http, socket: c.concurrency.socket };
    $('caps').textContent = `(caps: ${caps.http} requests, ${caps.socket} sockets)`;
  },
  stats: (s) => {
    const load = document.createDocumentFragment(), clients = Object.keys(s.inFlight).sort();
    for (const c of clients) {
      const tr = el('tr');
      tr.appendChild(el('td', c));
      for (const k of ['http', 'socket'] as const) {
        const td = el('td'), m = el('meter'), n = s.inFlight[c]![k];
        m.min = 0; m.max = caps[k]; m.value = n; m.high = caps[k] - 0.5; m.optimum = 0;
        td.appendChild(m); td.appendChild(document.createTextNode(` ${n}/${caps[k]}`));
        tr.appendChild(td);
      }
      tr.appendChild(el('td', networkFor(c), 'rule'));
      load.appendChild(tr);
    }
    $('load-rows').replaceChildren(load);
    $('no-load').hidden = clients.length > 0;
  },
};

// ---- The Background control.

let background = false;
let bgPending = false;
function setBackground(on: boolean): void {
  background = on;
  $('background').setAttribute('aria-pressed', String(on));
  $('bg-state').textContent = on ? 'on: new requests get 403 background-call' : 'off';
}
const backgroundView: View = {
  stats: (s, settled) => { if (settled) setBackground(s.background); },
};
$('background').addEventListener('click', () => {
  const btn = $<HTMLButtonElement>('background'), want = !background;
  btn.disabled = true;
  bgPending = true;
  bgSeq++;
  fetch('/api/background', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ background: want }) })
    .then(async (r) => { if (!r.ok) throw new Error(`POST /api/background: HTTP ${r.status}`); return (await r.json()) as { background: boolean }; })
    .then((b) => { setBackground(b.background); showError(); }, (err) => showError(errorText(err)))
    .finally(() => { btn.disabled = false; bgPending = false; bgSeq++; });
});

// ---- The mode badge, the config summary and the phones' QR codes.

const configView: View = {
  config: (c) => {
    $('mode').textContent = c.mode;
    const pairs: [string, string][] = [['appid', c.appid], ['version', c.version], ['mode', c.mode], ['config', c.file ?? 'built-in defaults']];
    for (const k of ['request', 'uploadFile', 'downloadFile', 'socket'] as const) pairs.push([k, c.domains[k].length ? c.domains[k].join(', ') : '(none)']);
    pairs.push(['proxy', c.proxy ? c.proxy.url : '?']);
    const dl = $('config');
    dl.replaceChildren();
    for (const [k, v] of pairs) { dl.appendChild(el('dt', k)); dl.appendChild(el('dd', v)); }
  },
};

const phonesView: View = {
  config: (c) => {
    const box = $('phones');
    box.replaceChildren();
    if (!c.phones.length) {
      box.appendChild(el('p', `The proxy listens on ${c.proxy ? c.proxy.host : '?'}: phones cannot reach it. Start it with --host 0.0.0.0 for phones on this Wi-Fi.`, 'muted'));
    }
    for (const p of c.phones) {
      const fig = el('div', undefined, 'qr');
      fig.innerHTML = p.qrSvg; // drawn by the proxy (proxy/qr.ts): only rect and path elements
      box.appendChild(fig);
      const d = el('dl');
      for (const [k, v] of [['Wi-Fi proxy', p.proxy], ['PAC', p.pac], ['page', p.onboarding]] as const) { d.appendChild(el('dt', k)); d.appendChild(el('dd', v)); }
      box.appendChild(d);
    }
    if (c.onboarding) {
      const a = el('a', "this computer's onboarding page"); a.href = c.onboarding; a.id = 'onboarding-link';
      const line = el('p'); line.appendChild(a); box.appendChild(line);
    }
  },
};

// ---- Network conditions (SPEC §11): a preset or fault for all clients or one, every host or one.

/** A fault picked here gets these parameters; the API and the config take any others. */
const FAULT_DEFAULTS: Record<string, Record<string, number>> = {
  'error-status': { status: 503, percent: 100 }, reset: { afterBytes: 0 }, 'socket-drop': { afterMs: 0 }, outage: { everyMs: 10000, forMs: 5000 },
};
let network: NetworkConfig = { default: 'none', rules: [] };
let netBusy = false;
const ruleName = (r: NetworkRule) => r.preset ?? r.fault?.type ?? (r.custom ? 'custom' : '?');
const ruleWhere = (r: NetworkRule) => `${r.client ? `client ${r.client}` : 'all clients'}${r.host ? `, host ${r.host}` : ''}`;
/** What applies to a client's requests in general, as the proxy resolves it (the last match wins); host rules are counted apart. */
function networkFor(client: string): string {
  let name: string = network.default, hostRules = 0;
  for (const r of network.rules) {
    if (r.client !== undefined && r.client !== client) continue;
    if (r.host !== undefined) hostRules++;
    else name = ruleName(r);
  }
  return hostRules ? `${name} + ${hostRules} host rule${hostRules > 1 ? 's' : ''}` : name;
}
function drawNetwork(): void {
  $('n-default').textContent = `default: ${network.default}${network.rules.length ? '; rules, the last match wins:' : '; no rules'}`;
  const rows = document.createDocumentFragment();
  network.rules.forEach((r, i) => {
    const tr = el('tr'), td = el('td'), b = el('button', 'Remove');
    tr.appendChild(el('td', ruleWhere(r)));
    tr.appendChild(el('td', ruleName(r), 'rule'));
    b.type = 'button'; b.title = 'remove this rule';
    b.addEventListener('click', () => postNetwork({ default: network.default, rules: network.rules.filter((_x, j) => j !== i) }));
    td.appendChild(b); tr.appendChild(td);
    rows.appendChild(tr);
  });
  $('n-rules').replaceChildren(rows);
}
function postNetwork(next: NetworkConfig): void {
  netBusy = true;
  $<HTMLButtonElement>('n-apply').disabled = true;
  fetch('/api/network', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(next) })
    .then(async (r) => {
      const body = (await r.json()) as NetworkConfig & { error?: string };
      if (!r.ok) throw new Error(`POST /api/network: ${body.error ?? `HTTP ${r.status}`}`);
      return body;
    })
    .then((n) => { network = n; drawNetwork(); showError(); }, (err) => showError(errorText(err)))
    .finally(() => { netBusy = false; $<HTMLButtonElement>('n-apply').disabled = false; });
}
const networkView: View = {
  stats: () => {
    if (netBusy) return;
    getJson<NetworkConfig>('/api/network').then((n) => { if (!netBusy) { network = n; drawNetwork(); } }, (err) => showError(errorText(err)));
    getJson<{ clients: { client: string }[] }>('/api/clients').then((c) => {
      const sel = $<HTMLSelectElement>('n-client'), have = new Set(Array.from(sel.options, (o) => o.value));
      for (const { client } of c.clients) if (!have.has(client)) { const o = el('option', client); o.value = client; sel.appendChild(o); }
    }, () => undefined);
  },
};
$('n-apply').addEventListener('click', () => {
  const client = $<HTMLSelectElement>('n-client').value, host = $<HTMLInputElement>('n-host').value.trim();
  const [kind, name] = $<HTMLSelectElement>('n-condition').value.split(':') as [string, string];
  const rule: NetworkRule = {};
  if (client) rule.client = client;
  if (host) rule.host = host;
  // A new choice for the same clients and hosts replaces the old one.
  const rules = network.rules.filter((r) => r.client !== rule.client || r.host !== rule.host);
  if (kind === 'preset' && !client && !host) { postNetwork({ default: name as NetworkConfig['default'], rules }); return; }
  if (kind === 'preset') rule.preset = name as NetworkConfig['default'];
  else rule.fault = { type: name, ...FAULT_DEFAULTS[name] } as NetworkRule['fault'];
  postNetwork({ default: network.default, rules: [...rules, rule] });
});

const VIEWS: readonly View[] = [violationsView, countsView, platformsView, loadView, backgroundView, networkView, configView, phonesView];

// ---- Feeding the views.

function add(v: Violation, live: boolean): void {
  for (const view of VIEWS) view.violation?.(v, live);
  if (live) refreshStatsSoon();
}

let loadMark = 0;
async function loadList(): Promise<void> {
  const body = await getJson<{ violations: Violation[] }>(`/api/violations?limit=${FIRST_LOAD}`);
  const pending = events.slice(loadMark);
  const seen = new Set(body.violations.map((v) => JSON.stringify(v)));
  events = [];
  for (const v of body.violations) add(v, false);
  for (const v of pending) if (!seen.has(JSON.stringify(v))) add(v, false);
}

function connect(): void {
  const es = new EventSource('/api/events');
  es.addEventListener('violation', (e) => add(JSON.parse((e as MessageEvent<string>).data) as Violation, true));
  es.onopen = () => {
    $('live').textContent = 'live'; $('live').className = 'badge on';
    // (Re)connected: fetch what is kept, then merge what streamed in meanwhile.
    loadMark = events.length;
    loadList().catch((err) => showError(errorText(err)));
  };
  es.onerror = () => { $('live').textContent = 'reconnecting…'; $('live').className = 'badge off'; };
}

// Stats every second, and soon after a violation streams in (never later than already planned,
// so a flood cannot keep postponing it). One fetch at a time.
let bgSeq = 0;
let statsBusy = false, statsAgain = false, statsTimer = 0, statsDue = 0;
function scheduleStats(ms: number): void {
  const due = Date.now() + ms;
  if (statsTimer && statsDue <= due) return;
  clearTimeout(statsTimer);
  statsDue = due;
  statsTimer = window.setTimeout(() => { statsTimer = 0; refreshStats(); }, ms);
}
function refreshStats(): void {
  if (statsBusy) { statsAgain = true; return; }
  statsBusy = true;
  // A poll that started before a Background click finished must not undo what the click did.
  const seq = bgSeq;
  getJson<Stats>('/api/stats')
    .then((s) => { for (const view of VIEWS) view.stats?.(s, seq === bgSeq && !bgPending); showError(); }, (err) => showError(errorText(err)))
    .finally(() => {
      statsBusy = false;
      if (statsAgain) { statsAgain = false; scheduleStats(150); }
      scheduleStats(1000);
    });
}
function refreshStatsSoon(): void {
  if (statsBusy) statsAgain = true;
  else scheduleStats(150);
}

getJson<DashboardConfig>('/api/config').then((c) => { for (const view of VIEWS) view.config?.(c); }, (err) => showError(errorText(err)));
connect();
refreshStats();
draw();
