/// <reference lib="dom" />
/**
 * The Health panel (docs/health.md): `/api/health` every few seconds, drawn as the score, then each
 * failing check with its platform title, measured value and first offenders.
 */
import type { HealthReport } from '../../reports/health.js';
import { $, el, errorText, getJson, showError, type View } from './dom.js';

const HEALTH_EVERY_MS = 3000;
const OFFENDERS_SHOWN = 3;
let healthDue = 0;
let healthBusy = false;

function drawHealth(r: HealthReport): void {
  const failed = r.checks.filter((c) => !c.pass);
  $('health-score').textContent = `${r.score}/100`;
  $('health-score').className = r.score >= 90 ? 'ok' : 'bad';
  $('health-summary').textContent = r.totals.requests === 0 ? 'No request yet: every check passes.'
    : `${r.totals.requests} requests, ${failed.length === 0 ? 'every check passes' : `${failed.length} of ${r.checks.length} checks fail`}`;
  const list = document.createDocumentFragment();
  for (const c of failed) {
    const li = el('li');
    li.appendChild(el('strong', c.title));
    li.appendChild(el('span', ` ${c.id}: ${String(c.value)} (threshold ${String(c.threshold)})`, 'muted'));
    for (const o of c.offenders.slice(0, OFFENDERS_SHOWN)) li.appendChild(el('div', `${o.method} ${o.url} — ${String(o.value)}`, 'rule'));
    list.appendChild(li);
  }
  $('health-checks').replaceChildren(list);
}

export const healthView: View = {
  stats: () => {
    if (healthBusy || Date.now() < healthDue) return;
    healthBusy = true;
    healthDue = Date.now() + HEALTH_EVERY_MS;
    getJson<HealthReport>('/api/health').then(drawHealth, (err) => showError(errorText(err))).finally(() => { healthBusy = false; });
  },
};
