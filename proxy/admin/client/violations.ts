/// <reference lib="dom" />
/**
 * The violations: the filtered, paged live list and its rule filter, the counts by rule (a click
 * filters the list) and by platform. The list is bounded: the page keeps the newest MAX_KEPT
 * events and draws one page of them, redrawn at most every 100 ms however fast events come, so
 * 10,000 violations stay cheap. Event text goes into the DOM with textContent only.
 */
import type { Violation } from '../../flow/events.js';
import { $, clientLabel, clock, el, pickedClient, type View } from './dom.js';

export const MAX_KEPT = 5000;
const PAGE = 100;
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
  if (!drawTimer) drawTimer = window.setTimeout(() => { drawTimer = 0; drawViolations(); }, 100);
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

/** Draws the page of the list in view; `fromTop` goes back to the newest first. */
export function drawViolations(fromTop = false): void {
  if (fromTop) offset = 0;
  const f = filters(), picked: Violation[] = [];
  for (let i = events.length - 1; i >= 0; i--) if (matches(events[i]!, f)) picked.push(events[i]!);
  if (offset >= picked.length) offset = Math.max(0, Math.floor((picked.length - 1) / PAGE) * PAGE);
  const rows = document.createDocumentFragment();
  for (const v of picked.slice(offset, offset + PAGE)) {
    const tr = el('tr');
    tr.appendChild(el('td', clock(v.time), 'muted'));
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

/** Starts the list over (a reload of what the proxy keeps); returns what was kept. */
export function resetViolations(): Violation[] {
  const old = events;
  events = [];
  return old;
}
export const violationCount = () => events.length;

export const violationsView: View = {
  violation: keep,
  stats: (s) => { for (const rule of Object.keys(s.byRule)) noteRule(rule); },
};
for (const id of ['f-rule', 'f-severity']) $(id).addEventListener('change', () => drawViolations(true));
$('f-host').addEventListener('input', () => { offset = 0; scheduleDraw(); });
$('newest').addEventListener('click', () => drawViolations(true));
$('newer').addEventListener('click', () => { offset = Math.max(0, offset - PAGE); drawViolations(); });
$('older').addEventListener('click', () => { offset += PAGE; drawViolations(); });

// ---- Totals and counts by rule (a click filters the list).

export const countsView: View = {
  stats: (s) => {
    $('t-requests').textContent = s.requests.toLocaleString();
    $('t-violations').textContent = s.violations.toLocaleString();
    const byRule = s.byRule as Record<string, number>;
    const counts = document.createDocumentFragment(), rules = Object.keys(byRule).sort((a, b) => byRule[b]! - byRule[a]!);
    for (const rule of rules) {
      const tr = el('tr'), td = el('td'), b = el('button', rule, 'rule');
      b.type = 'button'; b.title = `show only ${rule}`;
      b.addEventListener('click', () => { $<HTMLSelectElement>('f-rule').value = rule; drawViolations(true); });
      td.appendChild(b); tr.appendChild(td); tr.appendChild(el('td', byRule[rule]!.toLocaleString(), 'num'));
      counts.appendChild(tr);
    }
    $('count-rows').replaceChildren(counts);
    $('no-counts').hidden = rules.length > 0;
  },
};

// ---- Violations per platform (docs/platforms.md): a row per platform checked, the first decides.

export const platformsView: View = {
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
