/**
 * The JUnit report (docs/rules.md, docs/rules.md "JUnit"): a `<testsuite name="mgproxy">` with one `<testcase>` per
 * rule id checked, present even when nothing broke it, and one `<failure>` per error-severity
 * violation naming the method and URL (or host:port for a per-host TLS finding) and the message.
 * Warnings and infos are never failures; they are listed in the testcase's `<system-out>` so the
 * CI's test view still shows them. Wrapped in `<testsuites>`, the root GitLab, Jenkins and the
 * GitHub test-report actions all read.
 */
import type { Violation } from '../flow/events.js';
import { formatHost } from '../../config/net-address.js';
import type { RuleId } from '../rules/types.js';
import type { ReportSource } from './json.js';
import type { PlatformName } from '../../config/platforms.js';

/** XML 1.0 forbids these code points even as references (§2.2 Char); they are dropped, not escaped. */
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&apos;', '\n': '&#10;', '\r': '&#13;', '\t': '&#9;' };

/** Escapes text for element content; in attributes (`attr`) line breaks and tabs become references so parsers keep them. */
export function escapeXml(text: string, attr = false): string {
  return text.replace(INVALID_XML, '').replace(attr ? /[&<>"'\n\r\t]/g : /[&<>]/g, (c) => ENTITIES[c]!);
}

/** `GET https://host/path` for a request-bound event, `host:port` for a per-host one. */
export function violationTarget(v: Violation): string {
  if (v.url !== undefined) return `${v.method ?? ''} ${v.url}`.trim();
  return v.port !== undefined ? `${formatHost(v.host)}:${v.port}` : v.host;
}

/** Warnings and infos listed per testcase; past this many, a count says how many more. */
const MAX_LISTED_NOTICES = 200;

export interface JunitOptions {
  /** The rule ids the registry can raise, in registry order (`ctx.rules.flatMap((r) => r.ids)`). */
  ruleIds: readonly RuleId[];
  /** When the run started (the suite's timestamp and time). */
  startedAt: Date;
  finishedAt?: Date;
  /** The platforms checked, in the config's order (docs/platforms.md): a suite each when more than one. */
  platforms?: readonly PlatformName[];
}

function failureXml(v: Violation): string {
  const target = violationTarget(v);
  const details = [
    `${target}`,
    v.message,
    `rule: ${v.rule}, severity: ${v.severity}, action: ${v.action}${v.api ? `, api: ${v.api}` : ''}${v.client ? `, client: ${v.client}${v.clientName ? ` (${v.clientName})` : ''}` : ''}, time: ${v.time}`,
  ].join('\n');
  return `      <failure message="${escapeXml(`${target}: ${v.message}`, true)}" type="${escapeXml(v.rule, true)}">${escapeXml(details)}</failure>\n`;
}

/** One suite's view: the violations that break one platform's rules (or all of them), and their exact counts. */
interface SuiteView { name: string; classname: string; platform?: string; violations: readonly Violation[]; byRule: ReportSource['byRule']; count: number }

/** A suite's testcases and their violations, sorted out before anything is written (the root element carries the totals). */
function planSuite(view: SuiteView, ruleIds: readonly RuleId[]) {
  const ids: RuleId[] = [...ruleIds];
  // A rule id seen in a violation but not in the registry (a per-host TLS finding, say) still gets its testcase.
  for (const id of Object.keys(view.byRule) as RuleId[]) if (!ids.includes(id)) ids.push(id);
  const errors = new Map<RuleId, Violation[]>(ids.map((id) => [id, []]));
  const notices = new Map<RuleId, Violation[]>(ids.map((id) => [id, []]));
  for (const v of view.violations) (v.severity === 'error' ? errors : notices).get(v.rule)?.push(v);
  return { view, ids, errors, notices, failing: ids.filter((id) => errors.get(id)!.length > 0).length };
}

function* suiteChunks(plan: ReturnType<typeof planSuite>, requests: number, timing: string): Generator<string> {
  const { view, ids, errors, notices, failing } = plan;
  const classname = escapeXml(view.classname, true);
  yield `  <testsuite name="${escapeXml(view.name, true)}" tests="${ids.length}" failures="${failing}" errors="0" skipped="0" ${timing}>\n`;
  const platform = view.platform === undefined ? '' : `      <property name="platform" value="${escapeXml(view.platform, true)}"/>\n`;
  yield `    <properties>\n${platform}      <property name="requests" value="${requests}"/>\n      <property name="violations" value="${view.count}"/>\n    </properties>\n`;
  for (const id of ids) {
    const errs = errors.get(id)!;
    const notes = notices.get(id)!;
    const name = escapeXml(id, true);
    if (errs.length === 0 && notes.length === 0 && !view.byRule[id]) {
      yield `    <testcase name="${name}" classname="${classname}" time="0"/>\n`;
      continue;
    }
    yield `    <testcase name="${name}" classname="${classname}" time="0">\n`;
    for (let i = 0; i < errs.length; i += 500) yield errs.slice(i, i + 500).map(failureXml).join('');
    const out: string[] = [];
    const total = view.byRule[id] ?? 0;
    const unlisted = total - errs.length - notes.length;
    if (unlisted > 0) out.push(`${unlisted} older violation(s) left memory and are not listed (the counts are exact)`);
    for (const v of notes.slice(0, MAX_LISTED_NOTICES)) out.push(`${v.severity}: ${violationTarget(v)}: ${v.message}`);
    if (notes.length > MAX_LISTED_NOTICES) out.push(`… and ${notes.length - MAX_LISTED_NOTICES} more ${id} warning(s)/info(s); see the JSON report`);
    if (out.length > 0) yield `      <system-out>${escapeXml(out.join('\n'))}</system-out>\n`;
    yield '    </testcase>\n';
  }
  yield '  </testsuite>\n';
}

/**
 * One `<testsuite name="mgproxy">` for a run of one platform; with several (docs/platforms.md), a suite per
 * platform, `mgproxy <platform>`, holding the violations that break that platform's rules: a
 * violation of WeChat's rule is a failure of the WeChat suite even where the first platform let it pass.
 */
export function* junitReportChunks(src: ReportSource, opts: JunitOptions): Generator<string> {
  const ids: RuleId[] = [...new Set(opts.ruleIds)];
  const finishedAt = opts.finishedAt ?? new Date();
  const seconds = Math.max(0, (finishedAt.getTime() - opts.startedAt.getTime()) / 1000).toFixed(3);
  const timing = `time="${seconds}" timestamp="${opts.startedAt.toISOString().slice(0, 19)}"`;
  const platforms = opts.platforms ?? [];
  const all = src.violations();
  const views: SuiteView[] = platforms.length <= 1
    ? [{ name: 'mgproxy', classname: 'mgproxy', platform: platforms[0], violations: all, byRule: src.byRule, count: src.violationCount }]
    : platforms.map((p) => ({
      name: `mgproxy ${p}`, classname: `mgproxy.${p}`, platform: p,
      violations: all.filter((v) => v.platforms === undefined || v.platforms.includes(p)),
      byRule: src.byPlatform?.[p]?.byRule ?? {}, count: src.byPlatform?.[p]?.violations ?? 0,
    }));
  const plans = views.map((v) => planSuite(v, ids));
  const tests = plans.reduce((n, x) => n + x.ids.length, 0);
  const failures = plans.reduce((n, x) => n + x.failing, 0);
  yield '<?xml version="1.0" encoding="UTF-8"?>\n';
  yield `<testsuites name="mgproxy" tests="${tests}" failures="${failures}" errors="0" skipped="0" time="${seconds}">\n`;
  for (const plan of plans) yield* suiteChunks(plan, src.requests, timing);
  yield '</testsuites>\n';
}
