/**
 * The one place a violation is born (docs/rules.md): it is logged at once as a pino line with
 * `msg: "violation"`, counted per rule, kept (bounded) for the admin API and the reports, and
 * emitted to live listeners (SSE, dashboard). Finished exchanges are announced here too, for the
 * HAR recorder; with no listener that costs nothing.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Action, Api, RuleId, Severity } from '../../config/vocabulary.js';
import type { HostAudit } from '../../certs/audit/types.js';
import type { PlatformName } from '../../config/platforms.js';
import type { Mapped } from '../../config/map.js';

/** A violation event: request-bound ones carry every field; per-host TLS findings carry no api, method, url or client. */
export interface Violation {
  rule: RuleId;
  severity: Severity;
  api?: Api;
  method?: string;
  url?: string;
  host: string;
  port?: number;
  client?: string;
  /** The client's name, when it has one (docs/dashboard.md: `--client-name`, config `clients`, the dashboard). */
  clientName?: string;
  action: Action;
  message: string;
  /** docs/platforms.md: the first listed platform whose rules it breaks, and all of them (config order); set on every event the proxy records. */
  platform?: PlatformName;
  platforms?: readonly PlatformName[];
  /** The client's side of the exchange (docs/http2.md): `http/1.1` or `h2`; request-bound events only. */
  protocol?: 'http/1.1' | 'h2';
  time: string;
  /** The network condition the exchange ran under (docs/network.md): a preset name, `custom`, or a fault type. */
  network?: string;
  /** A map rule took the exchange (docs/toolkit.md): `{"type": "local"|"remote"|"respond", "to": …}`. */
  mapped?: Mapped;
  /** `concurrency-queued` (docs/device.md): milliseconds the call waited for a slot of its API. */
  queuedMs?: number;
  /** `concurrency-queued`: the calls of its API that held the slots when it arrived. */
  inFlight?: readonly QueueHolder[];
  /** `concurrency-queued`: how a call that never got its slot ended (`aborted`: its client left while it waited). */
  outcome?: string;
}

/** A call holding a slot, as a `concurrency-queued` event lists it. */
export interface QueueHolder { id: number; method: string; url: string }

/** The fields a `concurrency-queued` event adds to the event of docs/rules.md. */
export type QueueFields = Required<Pick<Violation, 'queuedMs' | 'inFlight'>> & Pick<Violation, 'outcome'>;

export const SEVERITY_ORDER: Readonly<Record<Severity, number>> = { info: 0, warning: 1, error: 2 };

/** Beyond this many, the oldest violations leave memory; the counts stay exact. */
export const MAX_KEPT_VIOLATIONS = 100_000;

const LOG_LEVEL: Readonly<Record<Severity, 'info' | 'warn' | 'error'>> = { info: 'info', warning: 'warn', error: 'error' };

export class EventHub extends EventEmitter {
  /** Exchanges seen: HTTP requests and socket handshakes. */
  requests = 0;
  violationCount = 0;
  readonly byRule: Partial<Record<RuleId, number>> = {};
  /** docs/platforms.md: per platform, how many violations break its rules, by rule (exact, like byRule). */
  readonly byPlatform: Partial<Record<PlatformName, { violations: number; errors: number; byRule: Partial<Record<RuleId, number>> }>> = {};
  private kept: Violation[] = [];
  private dropped = 0;
  private readonly audits: HostAudit[] = [];

  constructor(private readonly log: Logger) {
    super();
    this.setMaxListeners(0);
  }

  record(v: Violation): Violation {
    this.violationCount++;
    this.byRule[v.rule] = (this.byRule[v.rule] ?? 0) + 1;
    for (const p of v.platforms ?? []) {
      const counts = (this.byPlatform[p] ??= { violations: 0, errors: 0, byRule: {} });
      counts.violations++;
      if (v.severity === 'error') counts.errors++;
      counts.byRule[v.rule] = (counts.byRule[v.rule] ?? 0) + 1;
    }
    this.kept.push(v);
    if (this.kept.length > MAX_KEPT_VIOLATIONS * 1.1) {
      // Trimmed in batches so that a flood costs one copy per 10,000 events, not one per event.
      const excess = this.kept.length - MAX_KEPT_VIOLATIONS;
      this.kept = this.kept.slice(excess);
      this.dropped += excess;
    }
    const { time: _time, ...fields } = v; // pino stamps its own ISO time
    this.log[LOG_LEVEL[v.severity]](fields, 'violation');
    this.emit('violation', v);
    return v;
  }

  /** Kept violations, oldest first. */
  violations(): readonly Violation[] {
    return this.kept;
  }

  /** Keeps a finished per-host TLS audit for the report's `tls` section (its findings are recorded as per-host violations by the pipeline, recordHostFinding). */
  recordHostAudit(audit: HostAudit): void {
    this.audits.push(audit);
  }

  hostAudits(): readonly HostAudit[] {
    return this.audits;
  }

  /** How many left memory (the report says so). */
  get droppedViolations(): number {
    return this.dropped;
  }
}
