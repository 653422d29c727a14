/// <reference lib="dom" />
/**
 * The traffic views (docs/dashboard.md): the exchange list (virtualised: 10,000 rows cost one screen),
 * an exchange's details (for a socket, its live message list: sockets.ts), the timeline of each
 * API's calls in flight against its own cap with a marker per call that waited for a place
 * (`concurrency-queued`) or was refused (`concurrency-exceeded`), and
 * the waterfall of a client's last exchanges.
 */
import type { ExchangeSummary } from '../exchange-store.js';
import type { SocketTally } from '../../sockets/messages.js';
import type { WsMessage } from '../../sockets/observer.js';
import { $, clientLabel, clientNames, el, errorText, getJson, pickedClient, refreshClients, showError, size, svg } from './dom.js';
import { expectSocket, showSocket } from './sockets.js';
import { exchangeActions } from './exchange-actions.js';

/** Row height: two lines at phone widths (the URL on its own line), as the page's style says. */
const rowH = () => (window.matchMedia('(max-width:640px)').matches ? 40 : 26);
export const MAX_EXCHANGES = 10_000;
let exchanges: ExchangeSummary[] = [];
/** The same objects by id: a socket listed at its 101 is updated in place when it ends. */
const byId = new Map<number, ExchangeSummary>();
let shownExchanges: ExchangeSummary[] = [];
let exDrawTimer = 0;
function exMatches(x: ExchangeSummary, client: string, text: string): boolean {
  return (!client || x.client === client) && (!text || `${x.method} ${x.url} ${x.api} ${x.protocol} ${x.status ?? ''} ${x.violations.join(' ')}`.toLowerCase().includes(text));
}
function scheduleExchanges(): void {
  if (!exDrawTimer) exDrawTimer = window.setTimeout(() => { exDrawTimer = 0; drawExchanges(); }, 100);
}
/** Filters, then draws only the rows in view. */
export function drawExchanges(): void {
  const t0 = performance.now();
  const client = pickedClient(), text = $<HTMLInputElement>('f-exchange').value.trim().toLowerCase();
  shownExchanges = [];
  for (let i = exchanges.length - 1; i >= 0; i--) if (exMatches(exchanges[i]!, client, text)) shownExchanges.push(exchanges[i]!);
  $('ex-count').textContent = `${shownExchanges.length.toLocaleString()} exchanges (newest first)`;
  $('ex-spacer').style.height = `${shownExchanges.length * rowH()}px`;
  drawExchangeRows();
  drawWaterfall();
  (window as unknown as { mgproxyDrawMs: number }).mgproxyDrawMs = performance.now() - t0;
}
const isOpenSocket = (x: ExchangeSummary) => x.api === 'connectSocket' && x.durationMs === null && x.status === 101;
function drawExchangeRows(): void {
  const ROW_H = rowH(), box = $('ex-scroll'), first = Math.floor(box.scrollTop / ROW_H), count = Math.ceil(box.clientHeight / ROW_H) + 2;
  const frag = document.createDocumentFragment();
  for (let i = first; i < Math.min(shownExchanges.length, first + count); i++) {
    const x = shownExchanges[i]!, row = el('div', undefined, 'ex-row');
    row.style.top = `${i * ROW_H}px`;
    row.dataset.id = String(x.id);
    row.appendChild(el('span', x.method, 'm'));
    // The https scheme goes without saying (the API column tells it); a socket keeps its wss one.
    row.appendChild(el('span', x.url.replace(/^https:\/\//, ''), 'u'));
    row.title = x.url;
    row.appendChild(el('span', x.api, 'muted'));
    row.appendChild(el('span', x.status === null ? '…' : String(x.status), x.status !== null && x.status >= 400 ? 'sev-error' : ''));
    row.appendChild(el('span', x.durationMs === null ? (isOpenSocket(x) ? 'open' : '') : `${Math.round(x.durationMs)} ms`, 'num'));
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
/** New or updated exchanges (live, or the first load); kept in id order, the newest MAX_EXCHANGES. */
export function addExchanges(list: ExchangeSummary[]): void {
  let unordered = false;
  for (const x of list) {
    const known = byId.get(x.id);
    if (known) { Object.assign(known, x); continue; }
    if (exchanges.length && exchanges[exchanges.length - 1]!.id > x.id) unordered = true;
    exchanges.push(x);
    byId.set(x.id, x);
  }
  if (unordered) exchanges.sort((a, b) => a.id - b.id);
  if (exchanges.length > MAX_EXCHANGES + 500) for (const old of exchanges.splice(0, exchanges.length - MAX_EXCHANGES)) byId.delete(old.id);
  for (const x of list) if (!clientNames.has(x.client)) { refreshClients(); break; }
  scheduleExchanges();
  scheduleTimeline();
}
export function loadExchanges(): void {
  getJson<{ exchanges: ExchangeSummary[] }>(`/api/exchanges?limit=${MAX_EXCHANGES}`).then((b) => { addExchanges(b.exchanges); loadTimeline(); }, (err) => showError(errorText(err)));
}

interface Detail extends ExchangeSummary { requestHeaders: [string, string][]; responseHeaders: [string, string][]; messages?: WsMessage[]; tally?: SocketTally | null }
function openExchange(id: number): void {
  // Messages of this socket that stream in before its details arrive are kept for it.
  expectSocket(id);
  getJson<Detail>(`/api/exchange?id=${id}`).then((d) => {
    const box = $('ex-detail');
    box.hidden = false;
    box.replaceChildren(el('h3', `${d.method} ${d.url}`), exchangeActions(d.id));
    const dl = el('dl');
    const pairs: [string, string][] = [['client', clientLabel(d.client)], ['api', d.api], ['protocol', d.protocol], ['status', String(d.status ?? '')], ['started', new Date(d.start).toISOString()],
      ['first byte', d.firstByteMs === null ? '' : `${d.firstByteMs} ms`], ['total', d.durationMs === null ? (isOpenSocket(d) ? 'open' : '') : `${d.durationMs} ms`],
      ['sent / received', `${size(d.bytesIn)} / ${size(d.bytesOut)}`], ['outcome', d.outcome ?? ''], ['violations', d.violations.join(', ') || 'none']];
    if (d.mapped) pairs.push(['mapped', `${d.mapped.type} → ${d.mapped.to}`]);
    for (const [k, v] of pairs) { dl.appendChild(el('dt', k)); dl.appendChild(el('dd', v)); }
    box.appendChild(dl);
    if (d.messages) showSocket(box, id, d.messages, d.tally ?? null);
    else expectSocket(undefined);
    for (const [title, hs] of [['request headers', d.requestHeaders], ['response headers', d.responseHeaders]] as const) {
      box.appendChild(el('h4', title));
      box.appendChild(el('pre', hs.map(([k, v]) => `${k}: ${v}`).join('\n')));
    }
  }, (err) => { expectSocket(undefined); showError(errorText(err)); });
}

// The timeline: each API's calls in flight over the last minutes against its own cap (docs/device.md), a marker per call that waited or was refused.
interface Holder { id: number; method: string; url: string; start?: number }
interface Marker { t: number; rule: string; api: string; url: string; queuedMs?: number; outcome?: string; inFlight: Holder[]; client?: string }
type Series = 'request' | 'uploadFile' | 'downloadFile' | 'socket';
interface Timeline { client: string; caps: Record<Series, number>; points: ({ t: number } & Record<Series, number>)[]; markers: Marker[] }
const SERIES: readonly Series[] = ['request', 'uploadFile', 'downloadFile', 'socket'];
let tlTimer = 0;
function scheduleTimeline(): void {
  if (!tlTimer) tlTimer = window.setTimeout(() => { tlTimer = 0; loadTimeline(); }, 1000);
}
function timelineClient(): string {
  return pickedClient() || (exchanges.length ? exchanges[exchanges.length - 1]!.client : '');
}
export function loadTimeline(): void {
  const client = timelineClient();
  if (!client) return;
  getJson<Timeline>(`/api/timeline?client=${encodeURIComponent(client)}`).then(drawTimeline, (err) => showError(errorText(err)));
}
/** The drawing's width in CSS pixels (one unit a pixel: its text stays readable at any width). */
const widthOf = (box: HTMLElement) => Math.max(280, Math.round(box.clientWidth || 600));
const spanText = (ms: number) => (ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);
let lastTimeline: Timeline | undefined;
let resizeTimer = 0;
// The charts are drawn one unit a pixel, the rows' height depends on the width: a new width redraws them.
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => { if (lastTimeline) drawTimeline(lastTimeline); drawExchanges(); }, 150);
});
function drawTimeline(tl: Timeline): void {
  lastTimeline = tl;
  $('tl-client').textContent = clientLabel(tl.client);
  // The last 5 minutes at most, 30 s at least: a session that just began is not squeezed into the right edge.
  const W = widthOf($('timeline')), H = 150, now = Date.now(), top = Math.max(...SERIES.map((k) => tl.caps[k]), 1) + 2;
  const first = Math.min(now, ...tl.points.map((p) => p.t), ...tl.markers.map((m) => m.t));
  const span = Math.min(5 * 60_000, Math.max(30_000, (now - first) * 1.1));
  const x = (t: number) => Math.max(0, W - ((now - t) / span) * W), y = (n: number) => H - 16 - (n / top) * (H - 30);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, id: 'tl-svg', role: 'img', 'aria-label': `in flight for ${tl.client}` });
  for (const [tx, anchor, label] of [[2, 'start', `−${spanText(span)}`], [W / 2, 'middle', `−${spanText(span / 2)}`], [W - 2, 'end', 'now']] as const) {
    const t = svg('text', { x: tx, y: H - 3, class: 'tl-label', 'text-anchor': anchor }); t.textContent = label; root.appendChild(t);
  }
  // One dashed line per cap value, labelled with the APIs it caps (10 for request, uploadFile and downloadFile on most platforms).
  const byCap = new Map<number, Series[]>();
  for (const k of SERIES) byCap.set(tl.caps[k], [...byCap.get(tl.caps[k]) ?? [], k]);
  for (const [cap, apis] of byCap) {
    root.appendChild(svg('line', { x1: 0, x2: W, y1: y(cap), y2: y(cap), class: `tl-cap cap-${apis[0]}` }));
    const tx = svg('text', { x: 4, y: y(cap) - 3, class: 'tl-label' }); tx.textContent = `cap ${cap}: ${apis.join(', ')}`; root.appendChild(tx);
  }
  for (const k of SERIES) {
    let d = '', last = 0;
    for (const p of tl.points) { if (p.t < now - span) { last = p[k]; continue; } d += `${d ? 'L' : `M0 ${y(last)} L`}${x(p.t).toFixed(1)} ${y(last)} L${x(p.t).toFixed(1)} ${y(p[k])} `; last = p[k]; }
    d = d ? `${d}L${W} ${y(last)}` : `M0 ${y(last)} L${W} ${y(last)}`;
    root.appendChild(svg('path', { d, class: `tl-line tl-${k}` }));
  }
  tl.markers.forEach((m, i) => {
    const queued = m.rule === 'concurrency-queued';
    const c = svg('circle', { cx: Math.min(W - 7, Math.max(7, x(m.t))), cy: 8, r: 6, class: `tl-marker ${queued ? 'tl-queued' : 'tl-refused'}`, tabindex: 0, 'data-i': i });
    const t = svg('title', {}); t.textContent = `${markerText(m)}; ${m.inFlight.length} in flight`; c.appendChild(t);
    c.addEventListener('click', () => showMarker(m));
    root.appendChild(c);
  });
  $('timeline').replaceChildren(root);
  const queued = tl.markers.filter((m) => m.rule === 'concurrency-queued').length;
  $('tl-legend').textContent = `last ${spanText(span)} · in flight per API: request (blue), uploadFile (purple), downloadFile (orange), sockets (green) · ${queued} queued (amber) and ${tl.markers.length - queued} refused (red) marker(s): open one for what held the places`;
}
function markerText(m: Marker): string {
  const at = new Date(m.t).toTimeString().slice(0, 8);
  if (m.rule !== 'concurrency-queued') return `${m.rule} at ${at}: ${m.api} ${m.url} was refused`;
  return `${m.rule} at ${at}: ${m.api} ${m.url} waited ${Math.round(m.queuedMs ?? 0)} ms${m.outcome ? ` (${m.outcome})` : ''}`;
}
function showMarker(m: Marker): void {
  const box = $('tl-detail');
  box.hidden = false;
  box.replaceChildren(el('h3', `${markerText(m)}; ${m.inFlight.length} in flight`));
  const ol = el('ol', undefined, 'tl-inflight');
  for (const x of m.inFlight) ol.appendChild(el('li', `${x.method} ${x.url}${x.start === undefined ? '' : ` (since ${new Date(x.start).toTimeString().slice(0, 8)})`}`));
  box.appendChild(ol);
}

// The waterfall: a client's last exchanges, waiting (start → first byte) and receiving (→ end).
function drawWaterfall(): void {
  const client = timelineClient();
  const last = shownExchanges.filter((x) => !client || x.client === client).slice(0, 30).reverse();
  if (!last.length) { $('waterfall').replaceChildren(); return; }
  const t0 = Math.min(...last.map((x) => x.start)), t1 = Math.max(...last.map((x) => x.start + (x.durationMs ?? 0)), t0 + 1);
  const W = widthOf($('waterfall')), RH = 12, H = last.length * RH + 4, sx = (t: number) => ((t - t0) / (t1 - t0)) * (W - 4);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, id: 'wf-svg', role: 'img', 'aria-label': 'waterfall' });
  last.forEach((x, i) => {
    const end = x.start + (x.durationMs ?? 0), fb = x.start + (x.firstByteMs ?? x.durationMs ?? 0);
    root.appendChild(svg('rect', { x: sx(x.start), y: i * RH + 2, width: Math.max(1, sx(fb) - sx(x.start)), height: RH - 3, class: 'wf-wait' }));
    root.appendChild(svg('rect', { x: sx(fb), y: i * RH + 2, width: Math.max(1, sx(end) - sx(fb)), height: RH - 3, class: x.violations.length ? 'wf-bad' : 'wf-recv' }));
    const t = svg('title', {}); t.textContent = `${x.method} ${x.url}: first byte ${x.firstByteMs ?? '?'} ms, total ${x.durationMs ?? '?'} ms`;
    root.lastChild!.appendChild(t);
  });
  $('waterfall').replaceChildren(root);
  $('wf-legend').textContent = `${(t1 - t0).toLocaleString()} ms from the first start to the last end; hover a bar for its URL and timings`;
}
