/**
 * GitHub Actions output of `mgproxy run` (docs/ci.md): workflow commands that become annotations on
 * the run's page, and the job summary.
 *
 * Annotations: GitHub shows at most 10 of each kind per step, so each rule gets its first 3 as
 * they happen and, when it had more, one more at the end that gives its count. They are written
 * to stderr (CMD owns stdout); the runner reads workflow commands from both streams.
 */
import fs from 'node:fs';
import type { EventEmitter } from 'node:events';
import type { Severity } from '../../config/schema.js';
import { SEVERITY_ORDER, type Violation } from '../flow/events.js';
import type { RuleId } from '../rules/types.js';
import { type ViolationTally } from './summary.js';
import { violationTarget } from './junit.js';

/** The first this many violations of each rule are annotated one by one. */
export const ANNOTATIONS_PER_RULE = 3;

/** Workflow command data: % CR LF, as the runner's own toolkit escapes them (@actions/core `escapeData`). */
export const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
/** Workflow command property values: the data escapes plus `:` and `,`, which end a property. */
export const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

type Kind = 'error' | 'warning';
const KIND: Readonly<Partial<Record<Severity, Kind>>> = { error: 'error', warning: 'warning' };

export function workflowCommand(kind: Kind, title: string, message: string): string {
  return `::${kind} title=${escapeProperty(title)}::${escapeData(message)}\n`;
}

/** `::error title=mgproxy domain-not-allowed::GET https://evil.example.net/x — evil.example.net is not in domains.request` */
export const annotation = (v: Violation) => workflowCommand(KIND[v.severity] ?? 'warning', `mgproxy ${v.rule}`, `${violationTarget(v)} — ${v.message}`);

interface RuleCount { kind: Kind; count: number }

/** Errors and warnings as annotations, within GitHub's per-step limits. Infos are never annotated. */
export class GithubAnnotations {
  private readonly rules = new Map<RuleId, RuleCount>();

  constructor(private readonly write: (line: string) => void) {}

  attach(events: EventEmitter): this {
    events.on('violation', (v: Violation) => this.add(v));
    return this;
  }

  add(v: Violation): void {
    const kind = KIND[v.severity];
    if (!kind) return;
    const seen = this.rules.get(v.rule) ?? { kind, count: 0 };
    this.rules.set(v.rule, seen);
    seen.count++;
    if (SEVERITY_ORDER[v.severity] > SEVERITY_ORDER[seen.kind]) seen.kind = kind;
    if (seen.count <= ANNOTATIONS_PER_RULE) this.write(annotation(v));
  }

  /** At the end of the run: one annotation per rule that had more than were shown, with its count. */
  finish(): void {
    for (const [rule, { kind, count }] of this.rules) {
      if (count <= ANNOTATIONS_PER_RULE) continue;
      this.write(workflowCommand(kind, `mgproxy ${rule}`,
        `${count} ${rule} violations in all; the first ${ANNOTATIONS_PER_RULE} are annotated, the job log and the reports list every one`));
    }
  }
}

const MAX_CELL = 300;
/** Text in a markdown table cell: no line breaks, no column breaks, no HTML, no stray emphasis or code. */
const cell = (s: string) => (s.length > MAX_CELL ? `${s.slice(0, MAX_CELL - 1)}…` : s).replace(/[\r\n]+/g, ' ').replace(/[\\`*|]/g, '\\$&').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export interface StepSummary {
  tally: ViolationTally;
  requests: number;
  /** `run`'s exit code and why (the last line `run` prints). */
  code: number;
  why: string;
  /** The reports written, as given on the command line. */
  written: readonly string[];
}

/** The summary table of `run` as the markdown of a job summary (GITHUB_STEP_SUMMARY). */
export function stepSummaryMarkdown(s: StepSummary): string {
  const { error, warning, info } = s.tally.bySeverity;
  const counts = s.tally.total === 0 ? 'no violations' : `${plural(s.tally.total, 'violation')} (${error} error, ${warning} warning, ${info} info)`;
  const lines = [
    `### mgproxy: ${s.code === 0 ? 'passed' : 'failed'}`,
    '',
    `${plural(s.requests, 'request')}, ${counts}. **Exit ${s.code}**: ${cell(s.why)}.`,
    '',
  ];
  if (s.tally.total > 0) {
    // With several platforms, a column per platform (docs/platforms.md), as in the table `run` prints.
    const platforms = s.tally.platformColumns;
    lines.push(`| rule | severity | count | ${platforms.map((p) => `${p} | `).join('')}first |`, `| --- | --- | ---: | ${platforms.map(() => '---: | ').join('')}--- |`);
    for (const l of s.tally.lines()) lines.push(`| \`${l.rule}\` | ${l.severity} | ${l.count} | ${platforms.map((p) => `${l.byPlatform.get(p) ?? '-'} | `).join('')}${cell(l.first)} |`);
    lines.push('');
  }
  lines.push(s.written.length > 0 ? `Reports: ${s.written.map((f) => `\`${f.replace(/`/g, "'")}\``).join(', ')}` : 'No report was asked for (`--report`, `--junit`, `--har`).', '');
  return `${lines.join('\n')}\n`;
}

/** Appends to the job summary file; a failure is one line on stderr and changes no verdict. */
export function appendStepSummary(file: string, markdown: string): void {
  try {
    fs.appendFileSync(file, markdown);
  } catch (err) {
    process.stderr.write(`mgproxy: cannot append the job summary to ${file}: ${(err as Error).message}\n`);
  }
}
