/**
 * The JSON report (SPEC §6): `{"summary": {"requests", "violations", "byRule"}, "violations":
 * [event…], "tls": [host audit…], "clients": [client…], "sockets": [socket…]}`. Built as a sequence of chunks, one violation a line, so a
 * run with 100,000 violations is streamed to the file or the admin response instead of being
 * held as one large string.
 */
import type { EventHub } from '../events.js';
import type { ClientSummary } from '../clients.js';
import type { NetworkSummary } from '../network/state.js';
import type { SocketTally } from '../socket-messages.js';

/** What the report reads: the EventHub, or anything shaped like it (the benchmark). */
export type ReportSource = Pick<EventHub, 'requests' | 'violationCount' | 'byRule' | 'violations' | 'hostAudits' | 'droppedViolations'>;

export interface ReportSummary {
  requests: number;
  violations: number;
  byRule: EventHub['byRule'];
  /** Present only when the oldest violations left memory (over MAX_KEPT_VIOLATIONS): the list is then the newest ones, the counts stay exact. */
  droppedViolations?: number;
  /** SPEC §11: the `network` object in force at the end, and how many exchanges ran under each condition. */
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

/** Extra sections after `tls`: `clients` (SPEC §8, as `GET /api/clients` lists them) and `sockets` (messages and bytes per socket). */
export interface ReportExtras {
  clients?: readonly ClientSummary[];
  /** SPEC §11: goes into `summary.network`. */
  network?: NetworkSummary;
  sockets?: readonly SocketTally[];
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
  const tail = listSection('clients', extras.clients) + listSection('sockets', extras.sockets);
  yield `${violations.length > 0 ? '\n  ' : ''}],\n  "tls": ${indented(src.hostAudits())}${tail}\n}\n`;
}
