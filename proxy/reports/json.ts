/**
 * The JSON report (docs/rules.md): `{"summary": {"requests", "violations", "byRule"}, "violations":
 * [event…], "tls": [host audit…], "clients": [client…], "sockets": [socket…], "platforms": [per platform…]}`. Built as a sequence of chunks, one violation a line, so a
 * run with 100,000 violations is streamed to the file or the admin response instead of being
 * held as one large string.
 */
import type { EventHub } from '../flow/events.js';
import type { ClientSummary } from '../flow/clients.js';
import type { NetworkSummary } from '../network/state.js';
import type { SocketTally } from '../sockets/messages.js';
import type { PlatformName, PlatformProfile } from '../../config/platforms.js';

/** What the report reads: the EventHub, or anything shaped like it (the benchmark). */
export type ReportSource = Pick<EventHub, 'requests' | 'violationCount' | 'byRule' | 'violations' | 'hostAudits' | 'droppedViolations'> & Partial<Pick<EventHub, 'byPlatform'>>;

/** docs/platforms.md: one per platform checked, in the config's order: the violations that break its rules. */
export interface PlatformSummary { platform: PlatformName; title: string; violations: number; errors: number; byRule: EventHub['byRule'] }

export function platformSummaries(src: ReportSource, platforms: readonly PlatformProfile[]): PlatformSummary[] {
  return platforms.map((p) => {
    const c = src.byPlatform?.[p.name];
    return { platform: p.name, title: p.title, violations: c?.violations ?? 0, errors: c?.errors ?? 0, byRule: { ...c?.byRule } };
  });
}

export interface ReportSummary {
  requests: number;
  violations: number;
  byRule: EventHub['byRule'];
  /** Present only when the oldest violations left memory (over MAX_KEPT_VIOLATIONS): the list is then the newest ones, the counts stay exact. */
  droppedViolations?: number;
  /** docs/network.md: the `network` object in force at the end, and how many exchanges ran under each condition. */
  network?: NetworkSummary;
}

export function reportSummary(src: ReportSource, network?: NetworkSummary): ReportSummary {
  const summary: ReportSummary = { requests: src.requests, violations: src.violationCount, byRule: { ...src.byRule } };
  if (src.droppedViolations > 0) summary.droppedViolations = src.droppedViolations;
  if (network) summary.network = network;
  return summary;
}

/** Violations joined per chunk: few enough writes, small enough chunks. */
const BATCH = 500;

/** Extra sections after `tls`: `clients` (docs/dashboard.md, as `GET /api/clients` lists them) and `sockets` (messages and bytes per socket). */
export interface ReportExtras {
  clients?: readonly ClientSummary[];
  /** docs/network.md: goes into `summary.network`. */
  network?: NetworkSummary;
  sockets?: readonly SocketTally[];
  /** docs/platforms.md: the platforms checked, for the `platforms` section. */
  platforms?: readonly PlatformProfile[];
}

const listSection = (name: string, items: readonly unknown[] | undefined) => (items
  ? `,\n  "${name}": [${items.map((c) => `\n    ${JSON.stringify(c)}`).join(',')}${items.length > 0 ? '\n  ' : ''}]`
  : '');

export function* jsonReportChunks(src: ReportSource, extras: ReportExtras = {}): Generator<string> {
  const indented = (value: unknown) => JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');
  // A snapshot, taken with the counts: the list goes on growing while the chunks are sent.
  const summary = reportSummary(src, extras.network);
  const violations = src.violations().slice();
  yield `{\n  "summary": ${indented(summary)},\n  "violations": [`;
  for (let i = 0; i < violations.length; i += BATCH) {
    const lines = violations.slice(i, i + BATCH).map((v) => JSON.stringify(v));
    yield `${i === 0 ? '' : ','}\n    ${lines.join(',\n    ')}`;
  }
  const tail = listSection('clients', extras.clients) + listSection('sockets', extras.sockets)
    + listSection('platforms', extras.platforms && platformSummaries(src, extras.platforms));
  yield `${violations.length > 0 ? '\n  ' : ''}],\n  "tls": ${indented(src.hostAudits())}${tail}\n}\n`;
}
