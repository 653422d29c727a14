/**
 * The rule interface (after mitmproxy's addons and http-proxy's passes): small, uniform, able to
 * short-circuit. A rule returns findings as data; `pipeline.ts` runs every hook and its one
 * `decide()` turns a finding and the mode into what happens. No rule reads the mode.
 */
import type { Api, RuleId, Severity, TlsRuleId } from '../../config/vocabulary.js';
import type { Exchange } from '../flow/exchange.js';
import type { QueueFields } from '../flow/events.js';
import type { PlatformName } from '../../config/platforms.js';

// The rules speak the shared vocabulary (config/vocabulary.ts); re-exported for the rule modules' users.
export { REQUEST_RULE_IDS, TLS_RULE_IDS, type Action, type RequestRuleId, type RuleId, type TlsRuleId } from '../../config/vocabulary.js';

/** What a rule found. The answer it wants, if it stops the exchange, is its rule's row in respond.ts's ANSWERS. */
export interface Finding {
  rule: RuleId;
  severity: Severity;
  message: string;
  /** The rule changed what the upstream gets (the Referer): the finding is `rewritten`, whatever the mode. */
  rewritten?: true;
  /**
   * The rule can hold the exchange (concurrency with `overflow: "queue"`): where the first platform
   * would hold it (enforce mode) it is `queued`, and goes on when the Promise resolves. The rule
   * calls `leave` once, when the exchange leaves the queue (its slot, or its end while waiting):
   * the pipeline records the finding then, with those fields.
   */
  hold?: (leave: (fields: QueueFields) => void) => Promise<void>;
  /** Fields the event carries besides docs/rules.md's: the holders of a full cap (`inFlight`), a queued call's `queuedMs` and `outcome`. */
  queue?: Partial<QueueFields>;
  /**
   * The runtime interrupts the call rather than refusing it (background, docs/rules.md): raised by a
   * timer, its action is `cut` even where the proxy still answers because nothing was sent yet.
   */
  interrupts?: true;
  /** Where the exchange goes on anyway (`reported`): what the rule must then do (take the slot it found full). */
  admit?: () => void;
  /**
   * The platforms whose rules it breaks, in the config's order (docs/platforms.md); every configured one
   * when absent. One that only later platforms have never blocks: it is `reported`.
   */
  platforms?: readonly PlatformName[];
  /** The errMsg reason when the first platform words it otherwise than docs/rules.md (Douyin's `app in background`). */
  reason?: string;
}

/**
 * A finding about an upstream host:port rather than one request (the TLS audit, docs/tls-audit.md): the
 * pipeline records it once, as a per-host event, and an error one answers every request to that
 * host without an event per request.
 */
export interface HostFinding {
  rule: TlsRuleId;
  severity: Exclude<Severity, 'info'>;
  message: string;
  host: string;
  port: number;
}

/** Watches a body as it streams: sees every chunk once, copies nothing, keeps constant state. */
export interface BodyObserver {
  write(chunk: Buffer): void;
  /** Called once, after the last chunk of a complete body. */
  end(): Finding | undefined;
}

export interface Rule {
  /** The ids this rule can raise: one for most rules, the `tls-*`/`ats-*` family for the TLS audit. */
  readonly ids: readonly RuleId[];
  /** The APIs it looks at; all when absent. */
  readonly appliesTo?: readonly Api[];
  /**
   * A CONNECT to `host:port` was intercepted and its client is starting TLS: work that the first
   * request will need can start now, alongside the handshake with the client (the TLS audit).
   * Returns what lets go of it when the tunnel closes (an audit nobody waits for is stopped).
   */
  onTunnel?(host: string, port: number): (() => void) | undefined;
  /**
   * What this rule finds from the host alone, whatever the request. The pipeline asks it at the
   * tunnel (a host every request to which would be blocked is never contacted early) and, for a
   * rule without `onRequest`, for each request: the two cannot drift apart.
   */
  checkHost?(host: string): Finding | undefined;
  /** Before any upstream connection. May wait (the first TLS audit of a host); most return at once. */
  onRequest?(ex: Exchange): Verdict | Promise<Verdict>;
  /** When the upstream's response head arrives (`ex.status`, `ex.responseHeaders` are set). */
  onResponseHead?(ex: Exchange): Finding | undefined;
  /** A per-exchange observer of the response body, or undefined when this response needs none. */
  observeBody?(ex: Exchange): BodyObserver | undefined;
  /** Exactly once per admitted exchange, however it ended: release slots, clear timers. */
  onEnd?(ex: Exchange): void;
}

/** What a request hook returns: a finding about this request, a per-host one that stands for it, or nothing. */
export type Verdict = Finding | HostFinding | undefined;
