/**
 * Health baselines and the CI verdict (docs/health.md "Baselines"): the report of an earlier run
 * compared with this one, and `run --fail-on-health regression|checks|SCORE|never`.
 */
import fs from 'node:fs';
import type { HealthReport } from './health.js';

export interface Change { old: number; new: number; changePct: number | null }
export interface HealthBaseline {
  file: string;
  score: Change;
  totals: Record<string, Change>;
  domains: Record<string, { requests: Change; bytesDown: Change; p95Ms: Change }>;
  regressed: string[];
}

/** Growth of `totals.bytesDown` or `totals.requests` above this share is a regression. */
export const REGRESSION_GROWTH_PCT = 10;

export function change(old: number, now: number): Change {
  return { old, new: now, changePct: old === 0 ? null : Math.round(((now - old) / old) * 1000) / 10 };
}

/** Reads an earlier health JSON; throws an Error whose message is one line naming the file and what is wrong. */
export function readBaseline(file: string): HealthReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`--health-baseline ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message.split('\n')[0]}`);
  }
  const r = parsed as Partial<HealthReport>;
  if (typeof r !== 'object' || r === null || typeof r.score !== 'number' || !Array.isArray(r.checks) || typeof r.totals !== 'object') {
    throw new Error(`--health-baseline ${file}: not a health report (no score, checks and totals)`);
  }
  return r as HealthReport;
}

/** This run against `old`: every total and the domains of either run; `regressed`: checks that passed then and fail now. */
export function compareBaseline(file: string, old: HealthReport, now: HealthReport): HealthBaseline {
  const totals: Record<string, Change> = {};
  for (const [key, value] of Object.entries(now.totals)) totals[key] = change(Number((old.totals as Record<string, unknown>)[key]) || 0, value);
  const domains: HealthBaseline['domains'] = {};
  const before = new Map((old.domains ?? []).map((d) => [d.host, d]));
  const after = new Map(now.domains.map((d) => [d.host, d]));
  for (const host of new Set([...before.keys(), ...after.keys()])) {
    const o = before.get(host);
    const n = after.get(host);
    domains[host] = {
      requests: change(o?.requests ?? 0, n?.requests ?? 0),
      bytesDown: change(o?.bytesDown ?? 0, n?.bytesDown ?? 0),
      p95Ms: change(o?.p95Ms ?? 0, n?.p95Ms ?? 0),
    };
  }
  const passedBefore = new Set(old.checks.filter((c) => c.pass).map((c) => c.id));
  const regressed = now.checks.filter((c) => !c.pass && passedBefore.has(c.id)).map((c) => c.id);
  return { file, score: change(old.score, now.score), totals, domains, regressed };
}

export type FailOnHealth = { kind: 'never' } | { kind: 'checks' } | { kind: 'regression' } | { kind: 'score'; min: number };

/** `--fail-on-health`: regression, checks, a score from 0 to 100, or never; undefined for anything else. */
export function parseFailOnHealth(text: string): FailOnHealth | undefined {
  if (text === 'never' || text === 'checks' || text === 'regression') return { kind: text };
  if (!/^\d{1,3}$/.test(text)) return undefined;
  const min = Number(text);
  return min <= 100 ? { kind: 'score', min } : undefined;
}

/** Why the health verdict fails the run, or undefined when it does not. */
export function healthVerdict(rule: FailOnHealth, report: HealthReport, baseline?: HealthBaseline): string | undefined {
  const failed = report.checks.filter((c) => !c.pass).map((c) => c.id);
  switch (rule.kind) {
    case 'never': return undefined;
    case 'checks': return failed.length === 0 ? undefined : `health check${failed.length === 1 ? '' : 's'} failed: ${failed.join(', ')} (--fail-on-health checks)`;
    case 'score': return report.score >= rule.min ? undefined : `health score ${report.score} is below ${rule.min} (--fail-on-health ${rule.min})`;
    case 'regression': {
      if (!baseline) return 'no baseline to compare with (--fail-on-health regression needs --health-baseline)';
      const why: string[] = [];
      if (baseline.regressed.length > 0) why.push(`check${baseline.regressed.length === 1 ? '' : 's'} regressed: ${baseline.regressed.join(', ')}`);
      for (const key of ['bytesDown', 'requests'] as const) {
        const c = baseline.totals[key];
        if (c && c.changePct !== null && c.changePct > REGRESSION_GROWTH_PCT) why.push(`totals.${key} grew ${c.changePct}% (${c.old} → ${c.new}, more than ${REGRESSION_GROWTH_PCT}%)`);
      }
      return why.length === 0 ? undefined : `health regression over ${baseline.file}: ${why.join('; ')}`;
    }
  }
}

const formatValue = (id: string, v: number | string) => {
  if (typeof v !== 'number') return v;
  if (id === 'utilisation') return `${Math.round(v * 1000) / 10}%`;
  if (id === 'total-bytes' || id === 'large-response') return `${v} bytes`;
  if (id === 'queue-time' || id === 'slow-request') return `${v} ms`;
  return String(v);
};

/** `mgproxy: health <score>/100`, then one line per failed check: `mgproxy: health check <id> failed — <value> (<threshold>)`. */
export function healthLines(report: HealthReport): string[] {
  const lines = [`mgproxy: health ${report.score}/100`];
  for (const c of report.checks) if (!c.pass) lines.push(`mgproxy: health check ${c.id} failed — ${formatValue(c.id, c.value)} (${thresholdText(c.id, c.threshold)})`);
  return lines;
}

function thresholdText(id: string, t: number): string {
  switch (id) {
    case 'total-bytes': return `at most ${t} bytes`;
    case 'utilisation': return `at least ${t * 100}%`;
    case 'queue-count': return `at most ${t}`;
    case 'queue-time': return `mean below ${t} ms`;
    case 'slow-request': return `each below ${t} ms`;
    case 'large-response': return `each below ${t} bytes`;
    default: return `${t} allowed`;
  }
}

/** The same for GitHub's job summary: the score and a table of the failed checks. */
export function healthMarkdown(report: HealthReport): string {
  const failed = report.checks.filter((c) => !c.pass);
  const rows = failed.map((c) => `| \`${c.id}\` | ${c.title} | ${formatValue(c.id, c.value)} | ${thresholdText(c.id, c.threshold)} |`);
  return `### mgproxy network health: ${report.score}/100\n\n${failed.length === 0 ? 'Every check passes.\n' : `| check | title | value | threshold |\n| --- | --- | --- | --- |\n${rows.join('\n')}\n`}\n`;
}
