/// <reference lib="dom" />
/**
 * The dashboard's script (docs/dashboard.md `GET /`), run in the browser: this file and the ones it imports
 * (proxy/admin/client/). tsc type-checks them with the DOM types and the server's own types (the
 * shapes of `/api/stats`, `/api/config`, the violation events, exchanges and socket messages are
 * imported, types only, so nothing is emitted for them). `dashboard-page.ts` joins the compiled
 * files into the page's one inline module script (each file after those it imports, the local
 * imports and exports taken out, so they share one scope), named in the CSP by its hash.
 *
 * The page is made of views: each draws its part from the config (once), the stats (every second)
 * and each violation (live). Adding one is a section in `dashboard-page.ts` and an entry in VIEWS.
 * The exchanges, the timeline and socket messages come live over the same SSE stream.
 */
import type { Violation } from '../../flow/events.js';
import type { ExchangeSummary } from '../exchange-store.js';
import type { WsMessage } from '../../sockets/observer.js';
import { $, type DashboardConfig, errorText, getJson, refreshClients, showError, type Stats, type View } from './dom.js';
import { backgroundSeq, backgroundSettled, backgroundView, configView, loadView, networkView, phonesView } from './panels.js';
import { liveMessages } from './sockets.js';
import { healthView } from './health.js';
import { mapView } from './map.js';
import { addExchanges, drawExchanges, loadExchanges, loadTimeline } from './traffic.js';
import { countsView, drawViolations, platformsView, resetViolations, violationCount, violationsView } from './violations.js';

const FIRST_LOAD = 2000;
const VIEWS: readonly View[] = [violationsView, countsView, platformsView, loadView, backgroundView, networkView, mapView, configView, phonesView, healthView];

$('f-client').addEventListener('change', () => { drawViolations(true); drawExchanges(); loadTimeline(); });

// ---- Feeding the views.

function add(v: Violation, live: boolean): void {
  for (const view of VIEWS) view.violation?.(v, live);
  if (live) refreshStatsSoon();
}

let loadMark = 0;
async function loadList(): Promise<void> {
  const body = await getJson<{ violations: Violation[] }>(`/api/violations?limit=${FIRST_LOAD}`);
  const pending = resetViolations().slice(loadMark);
  const seen = new Set(body.violations.map((v) => JSON.stringify(v)));
  for (const v of body.violations) add(v, false);
  for (const v of pending) if (!seen.has(JSON.stringify(v))) add(v, false);
}

function connect(): void {
  const es = new EventSource('/api/events');
  const data = <T>(e: Event) => JSON.parse((e as MessageEvent<string>).data) as T;
  es.addEventListener('violation', (e) => add(data<Violation>(e), true));
  es.addEventListener('exchanges', (e) => addExchanges(data<ExchangeSummary[]>(e)));
  es.addEventListener('ws-messages', (e) => liveMessages(data<WsMessage[]>(e)));
  es.addEventListener('markers', () => loadTimeline());
  es.addEventListener('clients', () => refreshClients());
  es.onopen = () => {
    $('live').textContent = 'live'; $('live').className = 'badge on';
    // (Re)connected: fetch what is kept, then merge what streamed in meanwhile.
    loadMark = violationCount();
    loadList().catch((err) => showError(errorText(err)));
    refreshClients();
    loadExchanges();
  };
  es.onerror = () => { $('live').textContent = 'reconnecting…'; $('live').className = 'badge off'; };
}

// Stats every second, and soon after a violation streams in (never later than already planned,
// so a flood cannot keep postponing it). One fetch at a time.
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
  const seq = backgroundSeq();
  getJson<Stats>('/api/stats')
    .then((s) => { for (const view of VIEWS) view.stats?.(s, backgroundSettled(seq)); showError(); }, (err) => showError(errorText(err)))
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
drawViolations();
