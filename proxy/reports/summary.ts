/**
 * The end of `mgproxy run` (SPEC §7): a table of violations by rule, and the verdict of
 * `--fail-on`. Counted from the live events, so both stay exact when old violations have left
 * memory.
 */
import type { EventEmitter } from 'node:events';
import type { Severity } from '../../config/schema.js';
import { SEVERITY_ORDER, type Violation } from '../events.js';
import type { RuleId } from '../rules/types.js';
import { violationTarget } from './junit.js';

/** `--fail-on`: the lowest severity that fails the run, or `never`. */
export const FAIL_ON = ['error', 'warning', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

interface RuleLine { rule: RuleId; severity: Severity; count: number; first: string }

export class ViolationTally {
  readonly bySeverity: Record<Severity, number> = { info: 0, warning: 0, error: 0 };
  private readonly rules = new Map<RuleId, RuleLine>();

  /** Counts every violation `events` records from now on. */
  attach(events: EventEmitter): this {
    events.on('violation', (v: Violation) => this.add(v));
    return this;
  }

  add(v: Violation): void {
    this.bySeverity[v.severity]++;
    const line = this.rules.get(v.rule);
    if (!line) {
      this.rules.set(v.rule, { rule: v.rule, severity: v.severity, count: 1, first: `${violationTarget(v)}: ${v.message}` });
      return;
    }
    line.count++;
    if (SEVERITY_ORDER[v.severity] > SEVERITY_ORDER[line.severity]) line.severity = v.severity;
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

/** The table, one rule a line, with the first violation of each as an example. */
export function formatSummary(tally: ViolationTally, requests: number): string {
  const head = `mgproxy: ${plural(requests, 'request')}, `;
  if (tally.total === 0) return `${head}no violations\n`;
  const { error, warning, info } = tally.bySeverity;
  const rows = [['rule', 'severity', 'count', 'first'], ...tally.lines().map((l) => [l.rule, l.severity, String(l.count), clip(l.first)])];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => `  ${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padStart(widths[2]!)}  ${r[3]}`.trimEnd());
  return `${head}${plural(tally.total, 'violation')} (${error} error, ${warning} warning, ${info} info)\n${table.join('\n')}\n`;
}
