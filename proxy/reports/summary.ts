/**
 * The end of `mgproxy run` (docs/ci.md): a table of violations by rule, and the verdict of
 * `--fail-on`. Counted from the live events, so both stay exact when old violations have left
 * memory.
 */
import type { EventEmitter } from 'node:events';
import type { Severity } from '../../config/schema.js';
import { SEVERITY_ORDER, type Violation } from '../flow/events.js';
import type { RuleId } from '../rules/types.js';
import { violationTarget } from './junit.js';

/** `--fail-on`: the lowest severity that fails the run, or `never`. */
export const FAIL_ON = ['error', 'warning', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

/** `byPlatform`: how many of the rule's violations break each platform's rules (docs/platforms.md). */
interface RuleLine { rule: RuleId; severity: Severity; count: number; first: string; byPlatform: Map<string, number> }

export class ViolationTally {
  readonly bySeverity: Record<Severity, number> = { info: 0, warning: 0, error: 0 };
  private readonly rules = new Map<RuleId, RuleLine>();

  /** `platforms`: the run's, in the config's order; with more than one, the table gets a column each. */
  constructor(readonly platforms: readonly string[] = []) {}

  /** Counts every violation `events` records from now on. */
  attach(events: EventEmitter): this {
    events.on('violation', (v: Violation) => this.add(v));
    return this;
  }

  add(v: Violation): void {
    this.bySeverity[v.severity]++;
    let line = this.rules.get(v.rule);
    if (!line) {
      line = { rule: v.rule, severity: v.severity, count: 0, first: `${violationTarget(v)}: ${v.message}`, byPlatform: new Map() };
      this.rules.set(v.rule, line);
    }
    line.count++;
    if (SEVERITY_ORDER[v.severity] > SEVERITY_ORDER[line.severity]) line.severity = v.severity;
    for (const p of v.platforms ?? this.platforms) line.byPlatform.set(p, (line.byPlatform.get(p) ?? 0) + 1);
  }

  /** The platform columns of the table: only when the run checks more than one. */
  get platformColumns(): readonly string[] {
    return this.platforms.length > 1 ? this.platforms : [];
  }

  get total(): number {
    return this.bySeverity.info + this.bySeverity.warning + this.bySeverity.error;
  }

  /** Violations at or above `failOn` (0 for `never`). */
  atOrAbove(failOn: FailOn): number {
    if (failOn === 'never') return 0;
    const floor = SEVERITY_ORDER[failOn];
    return (Object.keys(this.bySeverity) as Severity[]).reduce((n, s) => n + (SEVERITY_ORDER[s] >= floor ? this.bySeverity[s] : 0), 0);
  }

  /** Most severe first, then the most frequent. */
  lines(): RuleLine[] {
    return [...this.rules.values()].sort((a, b) => SEVERITY_ORDER[b.severity] - SEVERITY_ORDER[a.severity] || b.count - a.count || a.rule.localeCompare(b.rule));
  }
}

const MAX_FIRST = 90;
const clip = (s: string) => (s.length > MAX_FIRST ? `${s.slice(0, MAX_FIRST - 1)}…` : s);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The table, one rule a line, with the first violation of each as an example; with several
 * platforms, a column per platform counts the violations that break its rules ("-" for none).
 */
export function formatSummary(tally: ViolationTally, requests: number): string {
  const head = `mgproxy: ${plural(requests, 'request')}, `;
  if (tally.total === 0) return `${head}no violations\n`;
  const { error, warning, info } = tally.bySeverity;
  const platforms = tally.platformColumns;
  const rows = [
    ['rule', 'severity', 'count', ...platforms, 'first'],
    ...tally.lines().map((l) => [l.rule, l.severity, String(l.count), ...platforms.map((p) => String(l.byPlatform.get(p) ?? '-')), clip(l.first)]),
  ];
  const last = rows[0]!.length - 1;
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => `  ${r.map((c, i) => (i === last ? c : i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`.trimEnd());
  return `${head}${plural(tally.total, 'violation')} (${error} error, ${warning} warning, ${info} info)\n${table.join('\n')}\n`;
}
