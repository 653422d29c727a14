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
import type { ExchangeSummary } from '../exchange-log.js';
import type { WsMessage } from '../ws-observer.js';
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

interface Filters { rule: string; severity: string; host: string; client: string }
function filters(): Filters {
  return { rule: $<HTMLSelectElement>('f-rule').value, severity: $<HTMLSelectElement>('f-severity').value, host: $<HTMLInputElement>('f-host').value.trim().toLowerCase(), client: pickedClient() };
}
function matches(v: Violation, f: Filters): boolean {
  return (!f.client || v.client === f.client) && (!f.rule || v.rule === f.rule) && (!f.severity || v.severity === f.severity) && (!f.host || String(v.host || '').toLowerCase().includes(f.host));
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
    tr.appendChild(el('td', v.client ? (v.clientName ? `${v.clientName} (${v.client})` : clientLabel(v.client)) : '', 'muted'));
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
    const picked = pickedClient();
    const load = document.createDocumentFragment(), clients = Object.keys(s.inFlight).filter((c) => !picked || c === picked).sort();
    for (const c of clients) {
      const tr = el('tr');
      tr.appendChild(el('td', clientLabel(c)));
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

// ---- Clients, exchanges, the timeline against the caps, the waterfall (SPEC §8).

interface ClientRow { client: string; name: string | null; requests: number; violations: number; sockets: number }
const clientNames = new Map<string, string | null>();
/** The client every view shows ('' = every client). */
function pickedClient(): string { return $<HTMLSelectElement>('f-client').value; }
const clientLabel = (ip: string) => { const n = clientNames.get(ip); return n ? `${n} (${ip})` : ip; };
function noteClients(rows: ClientRow[]): void {
  let changed = false;
  for (const r of rows) if (clientNames.get(r.client) !== r.name || !clientNames.has(r.client)) { clientNames.set(r.client, r.name); changed = true; }
  if (!changed) return;
  const sel = $<HTMLSelectElement>('f-client'), keepIt = sel.value;
  const every = el('option', 'every client'); every.value = '';
  sel.replaceChildren(every);
  for (const ip of [...clientNames.keys()].sort()) { const o = el('option', clientLabel(ip)); o.value = ip; sel.appendChild(o); }
  sel.value = keepIt;
}
function refreshClients(): void {
  getJson<{ clients: ClientRow[] }>('/api/clients').then((b) => noteClients(b.clients), (err) => showError(errorText(err)));
}

const ROW_H = 26, MAX_EXCHANGES = 10_000;
let exchanges: ExchangeSummary[] = [];
let shownExchanges: ExchangeSummary[] = [];
let exDrawTimer = 0;
function exMatches(x: ExchangeSummary, client: string, text: string): boolean {
  return (!client || x.client === client) && (!text || `${x.method} ${x.url} ${x.api} ${x.status ?? ''} ${x.violations.join(' ')}`.toLowerCase().includes(text));
}
function scheduleExchanges(): void {
  if (!exDrawTimer) exDrawTimer = window.setTimeout(() => { exDrawTimer = 0; drawExchanges(); }, 100);
}
const size = (n: number) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);
/** Filters, then draws only the rows in view (the list is virtualised: 10,000 rows cost one screen). */
function drawExchanges(): void {
  const t0 = performance.now();
  const client = pickedClient(), text = $<HTMLInputElement>('f-exchange').value.trim().toLowerCase();
  shownExchanges = [];
  for (let i = exchanges.length - 1; i >= 0; i--) if (exMatches(exchanges[i]!, client, text)) shownExchanges.push(exchanges[i]!);
  $('ex-count').textContent = `${shownExchanges.length.toLocaleString()} exchanges (newest first)`;
  $('ex-spacer').style.height = `${shownExchanges.length * ROW_H}px`;
  drawExchangeRows();
  drawWaterfall();
  (window as unknown as { mgproxyDrawMs: number }).mgproxyDrawMs = performance.now() - t0;
}
function drawExchangeRows(): void {
  const box = $('ex-scroll'), first = Math.floor(box.scrollTop / ROW_H), count = Math.ceil(box.clientHeight / ROW_H) + 2;
  const frag = document.createDocumentFragment();
  for (let i = first; i < Math.min(shownExchanges.length, first + count); i++) {
    const x = shownExchanges[i]!, row = el('div', undefined, 'ex-row');
    row.style.top = `${i * ROW_H}px`;
    row.dataset.id = String(x.id);
    row.appendChild(el('span', x.method, 'm'));
    row.appendChild(el('span', x.url, 'u'));
    row.appendChild(el('span', x.api, 'muted'));
    row.appendChild(el('span', x.status === null ? '…' : String(x.status), x.status !== null && x.status >= 400 ? 'sev-error' : ''));
    row.appendChild(el('span', x.durationMs === null ? '' : `${Math.round(x.durationMs)} ms`, 'num'));
    row.appendChild(el('span', size(x.bytesOut), 'num'));
    row.appendChild(el('span', x.violations.join(' '), 'rule sev-error'));
    frag.appendChild(row);
  }
  $('ex-rows').replaceChildren(frag);
}
$('ex-scroll').addEventListener('scroll', () => drawExchangeRows(), { passive: true });
$('f-exchange').addEventListener('input', scheduleExchanges);
$('ex-rows').addEventListener('click', (e) => {
  const row = (e.target as HTMLElement).closest<HTMLElement>('.ex-row');
  if (row) openExchange(Number(row.dataset.id));
});
function addExchanges(list: ExchangeSummary[]): void {
  exchanges.push(...list);
  if (exchanges.length > MAX_EXCHANGES + 500) exchanges.splice(0, exchanges.length - MAX_EXCHANGES);
  for (const x of list) if (!clientNames.has(x.client)) { refreshClients(); break; }
  scheduleExchanges();
  scheduleTimeline();
}

interface Detail extends ExchangeSummary { requestHeaders: [string, string][]; responseHeaders: [string, string][]; messages?: WsMessage[] }
function openExchange(id: number): void {
  getJson<Detail>(`/api/exchange?id=${id}`).then((d) => {
    const box = $('ex-detail');
    box.hidden = false;
    box.replaceChildren(el('h3', `${d.method} ${d.url}`));
    const dl = el('dl');
    const pairs: [string, string][] = [['client', clientLabel(d.client)], ['api', d.api], ['status', String(d.status ?? '')], ['started', new Date(d.start).toISOString()],
      ['first byte', d.firstByteMs === null ? '' : `${d.firstByteMs} ms`], ['total', d.durationMs === null ? '' : `${d.durationMs} ms`], ['sent / received', `${size(d.bytesIn)} / ${size(d.bytesOut)}`],
      ['outcome', d.outcome ?? ''], ['violations', d.violations.join(', ') || 'none']];
    for (const [k, v] of pairs) { dl.appendChild(el('dt', k)); dl.appendChild(el('dd', v)); }
    box.appendChild(dl);
    for (const [title, hs] of [['request headers', d.requestHeaders], ['response headers', d.responseHeaders]] as const) {
      box.appendChild(el('h4', title));
      const pre = el('pre', hs.map(([k, v]) => `${k}: ${v}`).join('\n'));
      box.appendChild(pre);
    }
    if (d.messages) {
      box.appendChild(el('h4', `messages (${d.messages.length})`));
      const list = el('div', undefined, 'msgs');
      for (const m of d.messages.slice(-500)) {
        const line = el('div', `${m.type === 'send' ? '↑' : '↓'} ${new Date(m.time * 1000).toTimeString().slice(0, 8)} op${m.opcode} ${size(m.size)} ${m.opcode === 8 ? `${m.code} ${m.reason}` : m.data.slice(0, 300)}${m.truncated ? '…' : ''}`, `msg-${m.type}`);
        list.appendChild(line);
      }
      box.appendChild(list);
    }
  }, (err) => showError(errorText(err)));
}

// The timeline: requests and sockets in flight over the last minutes, the caps as lines, a marker per concurrency-exceeded.
interface Marker { t: number; rule: string; url: string; inFlight: ExchangeSummary[]; client?: string }
interface Timeline { client: string; caps: { http: number; socket: number }; points: { t: number; http: number; socket: number }[]; markers: Marker[] }
let tlTimer = 0;
function scheduleTimeline(): void {
  if (!tlTimer) tlTimer = window.setTimeout(() => { tlTimer = 0; loadTimeline(); }, 1000);
}
function timelineClient(): string {
  return pickedClient() || (exchanges.length ? exchanges[exchanges.length - 1]!.client : '');
}
// The SVG namespace, read from an <svg> the HTML parser made (the page names no URL, SPEC §10).
const SVG = document.getElementById('svg-ns')!.namespaceURI!;
function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag) as SVGElementTagNameMap[K];
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}
function loadTimeline(): void {
  const client = timelineClient();
  if (!client) return;
  getJson<Timeline>(`/api/timeline?client=${encodeURIComponent(client)}`).then(drawTimeline, (err) => showError(errorText(err)));
}
function drawTimeline(tl: Timeline): void {
  $('tl-client').textContent = clientLabel(tl.client);
  const W = 600, H = 140, now = Date.now(), span = 5 * 60_000, top = Math.max(tl.caps.http, 1) + 2;
  const x = (t: number) => Math.max(0, W - ((now - t) / span) * W), y = (n: number) => H - (n / top) * (H - 10);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, id: 'tl-svg', role: 'img', 'aria-label': `in flight for ${tl.client}` });
  for (const [cap, cls, label] of [[tl.caps.http, 'cap-http', `cap ${tl.caps.http} requests`], [tl.caps.socket, 'cap-socket', `cap ${tl.caps.socket} sockets`]] as const) {
    root.appendChild(svg('line', { x1: 0, x2: W, y1: y(cap), y2: y(cap), class: cls }));
    const tx = svg('text', { x: 4, y: y(cap) - 3, class: 'tl-label' }); tx.textContent = label; root.appendChild(tx);
  }
  for (const k of ['http', 'socket'] as const) {
    let d = '', last = 0;
    for (const p of tl.points) { if (p.t < now - span) { last = p[k]; continue; } d += `${d ? 'L' : `M0 ${y(last)} L`}${x(p.t).toFixed(1)} ${y(last)} L${x(p.t).toFixed(1)} ${y(p[k])} `; last = p[k]; }
    d = d ? `${d}L${W} ${y(last)}` : `M0 ${y(last)} L${W} ${y(last)}`;
    root.appendChild(svg('path', { d, class: `tl-${k}` }));
  }
  tl.markers.forEach((m, i) => {
    const c = svg('circle', { cx: x(m.t), cy: 8, r: 6, class: 'tl-marker', tabindex: 0, 'data-i': i });
    const t = svg('title', {}); t.textContent = `${m.rule} at ${new Date(m.t).toTimeString().slice(0, 8)}: ${m.inFlight.length} in flight`; c.appendChild(t);
    c.addEventListener('click', () => showMarker(m));
    root.appendChild(c);
  });
  $('timeline').replaceChildren(root);
  $('tl-legend').textContent = `last 5 minutes · requests (blue) and sockets (green) in flight · ${tl.markers.length} concurrency-exceeded marker(s)`;
}
function showMarker(m: Marker): void {
  const box = $('tl-detail');
  box.hidden = false;
  box.replaceChildren(el('h3', `${m.rule} at ${new Date(m.t).toTimeString().slice(0, 8)}: ${m.url} was refused; ${m.inFlight.length} in flight`));
  const ol = el('ol', undefined, 'tl-inflight');
  for (const x of m.inFlight) ol.appendChild(el('li', `${x.method} ${x.url} (since ${new Date(x.start).toTimeString().slice(0, 8)})`));
  box.appendChild(ol);
}

// The waterfall: a client's last exchanges, waiting (start → first byte) and receiving (→ end).
function drawWaterfall(): void {
  const client = timelineClient();
  const last = shownExchanges.filter((x) => !client || x.client === client).slice(0, 30).reverse();
  if (!last.length) { $('waterfall').replaceChildren(); return; }
  const t0 = Math.min(...last.map((x) => x.start)), t1 = Math.max(...last.map((x) => x.start + (x.durationMs ?? 0)), t0 + 1);
  const W = 600, RH = 12, H = last.length * RH + 4, sx = (t: number) => ((t - t0) / (t1 - t0)) * (W - 4);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, id: 'wf-svg', role: 'img', 'aria-label': 'waterfall' });
  last.forEach((x, i) => {
    const end = x.start + (x.durationMs ?? 0), fb = x.start + (x.firstByteMs ?? x.durationMs ?? 0);
    root.appendChild(svg('rect', { x: sx(x.start), y: i * RH + 2, width: Math.max(1, sx(fb) - sx(x.start)), height: RH - 3, class: 'wf-wait' }));
    root.appendChild(svg('rect', { x: sx(fb), y: i * RH + 2, width: Math.max(1, sx(end) - sx(fb)), height: RH - 3, class: x.violations.length ? 'wf-bad' : 'wf-recv' }));
    const t = svg('title', {}); t.textContent = `${x.method} ${x.url}: first byte ${x.firstByteMs ?? '?'} ms, total ${x.durationMs ?? '?'} ms`;
    root.lastChild!.appendChild(t);
  });
  $('waterfall').replaceChildren(root);
}

$('f-client').addEventListener('change', () => { offset = 0; draw(); drawExchanges(); loadTimeline(); });

function connectLive(es: EventSource): void {
  es.addEventListener('exchanges', (e) => addExchanges(JSON.parse((e as MessageEvent<string>).data) as ExchangeSummary[]));
  es.addEventListener('markers', () => loadTimeline());
  es.addEventListener('clients', () => refreshClients());
}
function loadExchanges(): void {
  getJson<{ exchanges: ExchangeSummary[] }>(`/api/exchanges?limit=${MAX_EXCHANGES}`).then((b) => {
    const known = new Set(exchanges.map((x) => x.id));
    exchanges = [...b.exchanges.filter((x) => !known.has(x.id)), ...exchanges].sort((a, b2) => a.id - b2.id);
    scheduleExchanges();
    loadTimeline();
  }, (err) => showError(errorText(err)));
}

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
  connectLive(es);
  es.onopen = () => {
    $('live').textContent = 'live'; $('live').className = 'badge on';
    // (Re)connected: fetch what is kept, then merge what streamed in meanwhile.
    loadMark = events.length;
    loadList().catch((err) => showError(errorText(err)));
    refreshClients();
    loadExchanges();
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
