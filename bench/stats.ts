/**
 * Rounds to figures: the median of the rounds with their min and max, the ratio of the proxy's
 * median to direct's, and its target (bench/README.md). A target says which way is better, so a
 * ratio is judged the same way for throughput (higher) and latency or memory (lower).
 */

export interface Spread { median: number; min: number; max: number; rounds: number[] }

export function spread(rounds: number[]): Spread {
  const sorted = [...rounds].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length === 0 ? Number.NaN
    : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0] ?? Number.NaN, max: sorted[sorted.length - 1] ?? Number.NaN, rounds };
}

/** What the target asks of a figure: of its ratio to direct, or of its own value. */
export interface Target {
  of: 'ratio' | 'value';
  /** `min`: at least `limit`; `max`: at most `limit`; `between`: from `limit` to `upper`. */
  kind: 'min' | 'max' | 'between';
  limit: number;
  upper?: number;
}

export interface Figure {
  workload: string;
  metric: string;
  unit: string;
  direct?: Spread;
  proxy: Spread;
  target?: Target;
  /** Said under the table (what a figure means, what it leaves out). */
  note?: string;
}

export function ratioOf(f: Figure): number | undefined {
  return f.direct ? f.proxy.median / f.direct.median : undefined;
}

export function meets(f: Figure): boolean | undefined {
  if (!f.target) return undefined;
  const x = f.target.of === 'ratio' ? ratioOf(f) : f.proxy.median;
  if (x === undefined || !Number.isFinite(x)) return false;
  if (f.target.kind === 'between') return x >= f.target.limit && x <= f.target.upper!;
  return f.target.kind === 'min' ? x >= f.target.limit : x <= f.target.limit;
}

function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toLocaleString('en-US');
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function cell(s: Spread | undefined): string {
  if (!s) return '—';
  return s.rounds.length > 1 ? `${num(s.median)} (${num(s.min)}–${num(s.max)})` : num(s.median);
}

function targetText(t: Target | undefined, unit: string): string {
  if (!t) return '';
  if (t.kind === 'between') return t.of === 'ratio' ? `${t.limit}–${t.upper}×` : `${num(t.limit)}–${num(t.upper!)} ${unit}`;
  const sign = t.kind === 'min' ? '≥' : '≤';
  return t.of === 'ratio' ? `${sign} ${t.limit}×` : `${sign} ${num(t.limit)} ${unit}`;
}

/** The markdown table: median (min–max) of each side, the ratio, the target, met or not. */
export function formatTable(figures: Figure[]): string {
  const rows = [
    '| workload | figure | direct | mgproxy | ratio | target | met |',
    '| --- | --- | ---: | ---: | ---: | --- | --- |',
  ];
  for (const f of figures) {
    const r = ratioOf(f);
    const ok = meets(f);
    rows.push(`| ${f.workload} | ${f.metric} (${f.unit}) | ${cell(f.direct)} | ${cell(f.proxy)} | ${r === undefined ? '—' : `${r.toFixed(2)}×`} | ${targetText(f.target, f.unit)} | ${ok === undefined ? '' : ok ? 'yes' : '**no**'} |`);
  }
  return rows.join('\n');
}
