/**
 * `--health-html FILE` (docs/health.md): the health report as one self-contained page a QA engineer
 * attaches to a ticket. Everything is drawn here, as HTML and inline SVG with inline CSS: no script,
 * no font, no image, nothing from another origin (its Content-Security-Policy forbids it), so it
 * opens from disk, offline, and shows the same in any browser.
 */
import type { Api } from '../../config/vocabulary.js';
import type { HealthCheck, HealthDrawing, HealthReport } from './health.js';
import type { HealthBaseline } from './health-baseline.js';
import { CHECKS } from './health-checks.js';

const ENGLISH = new Map(CHECKS.map((c) => [c.id, c.english]));

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(2)} MB`;
}

const formatMs = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);
const pct = (x: number | null) => (x === null ? '—' : `${Math.round(x * 100)}%`);

/** A check's measured value, in its unit. */
function valueText(c: HealthCheck): string {
  switch (c.id) {
    case 'total-bytes': case 'large-response': return formatBytes(c.value);
    case 'utilisation': return pct(c.value);
    case 'queue-time': case 'slow-request': return formatMs(c.value);
    case 'queue-count': return `${c.value} queued`;
    default: return c.value === 0 ? 'none' : `${c.value} exchange${c.value === 1 ? '' : 's'}`;
  }
}

function thresholdText(c: HealthCheck): string {
  switch (c.id) {
    case 'total-bytes': return `≤ ${formatBytes(c.threshold)}`;
    case 'large-response': return `each < ${formatBytes(c.threshold)}`;
    case 'utilisation': return `≥ ${pct(c.threshold)}`;
    case 'queue-count': return `≤ ${c.threshold}`;
    case 'queue-time': return `mean < ${formatMs(c.threshold)}`;
    case 'slow-request': return `each < ${formatMs(c.threshold)}`;
    default: return 'none allowed';
  }
}

function offenderValue(c: HealthCheck, v: number | string): string {
  if (typeof v !== 'number') return esc(v);
  if (c.id === 'slow-request' || c.id === 'queue-count' || c.id === 'queue-time') return formatMs(v);
  if (c.id === 'status') return String(v);
  return formatBytes(v);
}

function checkRow(c: HealthCheck): string {
  const offenders = c.offenders.length === 0 ? '' : `<details${c.pass ? '' : ' open'}><summary>${c.offenders.length} offender${c.offenders.length === 1 ? '' : 's'}</summary><table class="off">${
    c.offenders.map((o) => `<tr><td>${esc(o.method)}</td><td class="url">${esc(o.url)}</td><td class="num">${offenderValue(c, o.value)}</td></tr>`).join('')}</table></details>`;
  return `<li class="check ${c.pass ? 'pass' : 'fail'}"><span class="badge">${c.pass ? 'PASS' : 'FAIL'}</span>`
    + `<span class="title">${esc(c.title)}</span> · ${esc(ENGLISH.get(c.id) ?? '')} <code>${esc(c.id)}</code> <span class="weight">${c.weight} pts</span>`
    + `<div class="measure">${esc(valueText(c))} <span class="muted">(${esc(thresholdText(c))})</span></div>${offenders}</li>`;
}

function table(head: string[], rows: string[][], numeric: Set<number> = new Set()): string {
  if (rows.length === 0) return '<p class="muted">none</p>';
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.has(i) ? ' class="num"' : i === 1 ? ' class="url"' : ''}>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

const OUTCOME_COLOUR: Record<string, string> = { completed: '#2f7d32', blocked: '#c62828', cut: '#c62828', error: '#c62828', aborted: '#ef6c00', 'in flight': '#1565c0' };

/** The first 200 exchanges on one time axis: queue (grey), waiting for the first byte (light), receiving (the outcome's colour). */
function waterfall(d: HealthDrawing): string {
  const rows = d.waterfall;
  if (rows.length === 0) return '<p class="muted">no exchange</p>';
  const end = Math.max(1, ...rows.map((r) => r.startMs + r.durationMs));
  const W = 640; const LABEL = 300; const H = 12;
  const x = (ms: number) => LABEL + (ms / end) * W;
  const bars = rows.map((r, i) => {
    const y = i * (H + 2);
    const q = r.queuedMs; const first = r.firstByteMs ?? r.durationMs;
    const colour = OUTCOME_COLOUR[r.outcome] ?? '#555';
    const tip = `${r.method} ${r.url} — ${r.status ?? '—'} ${r.outcome}, ${formatMs(r.durationMs)}${q > 0 ? `, queued ${formatMs(q)}` : ''}, ${formatBytes(r.bytesDown)}`;
    const label = r.url.length > 48 ? `…${r.url.slice(-47)}` : r.url;
    return `<g><title>${esc(tip)}</title><text x="0" y="${y + H - 2}" class="wl">${esc(r.method)} ${esc(label)}</text>`
      + (q > 0 ? `<rect x="${x(r.startMs)}" y="${y}" width="${Math.max(1, x(r.startMs + q) - x(r.startMs))}" height="${H}" fill="#bdbdbd"/>` : '')
      + `<rect x="${x(r.startMs + q)}" y="${y}" width="${Math.max(1, x(r.startMs + Math.max(q, first)) - x(r.startMs + q))}" height="${H}" fill="${colour}" opacity="0.35"/>`
      + `<rect x="${x(r.startMs + Math.max(q, first))}" y="${y}" width="${Math.max(1, x(r.startMs + r.durationMs) - x(r.startMs + Math.max(q, first)))}" height="${H}" fill="${colour}"/></g>`;
  }).join('');
  const height = rows.length * (H + 2) + 16;
  return `<svg class="chart" viewBox="0 0 ${LABEL + W + 10} ${height}" width="${LABEL + W + 10}" role="img" aria-label="waterfall of the first ${rows.length} exchanges">${bars}`
    + `<text x="${LABEL}" y="${height - 2}" class="axis">0</text><text x="${LABEL + W}" y="${height - 2}" class="axis" text-anchor="end">${formatMs(end)}</text></svg>`;
}

/** Per API, the highest in-flight count of a client in each time bucket, against the API's cap (dashed). */
function concurrencyCharts(report: HealthReport, d: HealthDrawing): string {
  const apis = Object.keys(d.series.apis) as Api[];
  if (apis.length === 0) return '<p class="muted">no call was forwarded</p>';
  return apis.map((api) => {
    const points = d.series.apis[api]!;
    const cap = report.concurrency[api]?.cap ?? null;
    const top = Math.max(1, cap ?? 0, ...points);
    const W = 640; const H = 120;
    const step = points.length > 1 ? W / (points.length - 1) : W;
    const y = (v: number) => H - (v / top) * (H - 10);
    const path = points.map((v, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const capLine = cap === null ? '' : `<line x1="0" x2="${W}" y1="${y(cap)}" y2="${y(cap)}" class="cap"/><text x="${W}" y="${y(cap) - 3}" text-anchor="end" class="axis">cap ${cap}</text>`;
    const c = report.concurrency[api];
    return `<figure><figcaption><code>${esc(api)}</code>: at most ${c?.maxInFlight ?? 0} in flight, cap ${cap ?? '—'}, ${c?.queued ?? 0} queued (mean ${formatMs(c?.meanQueueMs ?? 0)}); one point per ${formatMs(d.series.bucketMs)}</figcaption>`
      + `<svg class="chart" viewBox="-2 0 ${W + 4} ${H + 4}" width="${W + 4}" role="img" aria-label="${esc(api)} in flight over time">${capLine}<path d="${path}" class="line"/></svg></figure>`;
  }).join('');
}

function baselineBlock(b: HealthBaseline | undefined): string {
  if (!b) return '';
  const change = (c: { old: number; new: number; changePct: number | null }) => `${c.old} → ${c.new}${c.changePct === null ? '' : ` (${c.changePct > 0 ? '+' : ''}${c.changePct}%)`}`;
  const rows = Object.entries(b.totals).map(([k, c]) => [esc(k), esc(change(c))]);
  return `<section><h2>Against the baseline</h2><p>${esc(b.file)}: score ${esc(change(b.score))}; regressed: ${b.regressed.length === 0 ? 'none' : b.regressed.map((r) => `<code>${esc(r)}</code>`).join(', ')}</p>${table(['total', 'change'], rows)}</section>`;
}

const CSS = `body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#212121;background:#fafafa}
h1{margin:0 0 4px}h2{margin:28px 0 8px;font-size:18px}.muted{color:#757575}
.score{font-size:56px;font-weight:700;margin-right:16px}.score.good{color:#2f7d32}.score.fair{color:#ef6c00}.score.poor{color:#c62828}
.head{display:flex;align-items:center;gap:8px;flex-wrap:wrap}ul.checks{list-style:none;padding:0;margin:0}
.check{background:#fff;border:1px solid #e0e0e0;border-left:6px solid #2f7d32;margin:6px 0;padding:8px 12px;border-radius:4px}
.check.fail{border-left-color:#c62828}.badge{font-weight:700;font-size:12px;margin-right:8px;color:#2f7d32}.fail .badge{color:#c62828}
.title{font-weight:600}.weight{color:#757575;font-size:12px;margin-left:6px}.measure{margin:2px 0 0}
table{border-collapse:collapse;background:#fff;margin:4px 0}td,th{border:1px solid #e0e0e0;padding:3px 8px;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.url{max-width:640px;word-break:break-all}table.off td{font-size:13px}
.chart{background:#fff;border:1px solid #e0e0e0;max-width:100%;height:auto}.wl{font:10px monospace;fill:#424242}.axis{font:10px sans-serif;fill:#757575}
.line{fill:none;stroke:#1565c0;stroke-width:1.5}.cap{stroke:#c62828;stroke-dasharray:4 3}figure{margin:8px 0}summary{cursor:pointer;color:#424242}`;

/** The whole page. */
export function healthPage(report: HealthReport, drawing: HealthDrawing): string {
  const grade = report.score >= 90 ? 'good' : report.score >= 60 ? 'fair' : 'poor';
  const failed = report.checks.filter((c) => !c.pass);
  const t = report.totals;
  const exRow = (e: { method: string; url: string; status: number | null; durationMs: number; bytesDown: number; outcome: string }) =>
    [esc(e.method), esc(e.url), esc(e.status ?? '—'), formatMs(e.durationMs), formatBytes(e.bytesDown), esc(e.outcome)];
  const exHead = ['method', 'url', 'status', 'time', 'bytes', 'outcome'];
  const num = new Set([3, 4]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mgproxy network health ${report.score}/100</title><style>${CSS}</style></head><body>
<h1>Network health</h1>
<div class="head"><span class="score ${grade}" id="score">${report.score}</span><span>/ 100<br><span class="muted">${failed.length === 0 ? 'every check passes' : `${failed.length} check${failed.length === 1 ? '' : 's'} failed`}</span></span></div>
<p class="muted">${esc(report.window.start ?? 'no exchange')} → ${esc(report.window.end ?? '')} (${formatMs(report.window.ms)}) ·
${t.requests} requests, ${t.sockets} sockets · ${formatBytes(t.bytesDown)} down, ${formatBytes(t.bytesUp)} up · ${t.failed} failed · network busy ${pct(report.utilisation)} of the time</p>
<section><h2>Checks</h2><ul class="checks">${[...failed, ...report.checks.filter((c) => c.pass)].map(checkRow).join('')}</ul></section>
${baselineBlock(report.baseline as HealthBaseline | undefined)}
<section><h2>Domains</h2>${table(['host', 'requests', 'down', 'up', 'p50', 'p95', 'max', 'h2', 'compressed', 'cache hits', 'errors'],
    report.domains.map((d) => [esc(d.host), String(d.requests), formatBytes(d.bytesDown), formatBytes(d.bytesUp), formatMs(d.p50Ms), formatMs(d.p95Ms), formatMs(d.maxMs), d.h2 ? 'yes' : 'no', pct(d.compressed), pct(d.cacheHits), String(d.errors)]),
    new Set([1, 2, 3, 4, 5, 6, 10]))}</section>
<section><h2>Waterfall (first ${drawing.waterfall.length} exchanges)</h2>${waterfall(drawing)}</section>
<section><h2>Concurrency per API</h2>${concurrencyCharts(report, drawing)}</section>
<section><h2>Slowest</h2>${table(exHead, report.slowest.map(exRow), num)}</section>
<section><h2>Largest</h2>${table(exHead, report.largest.map(exRow), num)}</section>
<section><h2>Failed</h2>${table([...exHead, 'rule'], report.failed.map((f) => [...exRow(f), esc(f.rule ?? '')]), num)}</section>
<section><h2>Duplicate downloads</h2>${table(['count', 'url', 'bytes', 'sha256'], report.duplicates.map((d) => [String(d.count), esc(d.url), formatBytes(d.bytes), `<code>${d.sha256.slice(0, 16)}…</code>`]), new Set([0, 2]))}</section>
<p class="muted">mgproxy — docs/health.md explains each check and how to fix it.</p>
</body></html>
`;
}
