/**
 * The rule interface (STYLE: mitmproxy's addons, http-proxy's passes): small, uniform, able to
 * short-circuit. A rule returns findings as data; the pipeline decides what they do.
 */
import type { Action, Api, RuleId, Severity } from '../../config/vocabulary.js';
import type { Exchange } from '../exchange.js';
import type { PlatformName } from '../../config/platforms.js';

// The rules speak the shared vocabulary (config/vocabulary.ts); re-exported for the rule modules' users.
export { REQUEST_RULE_IDS, TLS_RULE_IDS, type Action, type RequestRuleId, type RuleId, type TlsRuleId } from '../../config/vocabulary.js';

/** What a rule found. `action` is set only by rules whose outcome is not the pipeline's to decide (`queued`, `rewritten`). */
export interface Finding {
  rule: RuleId;
  severity: Severity;
  message: string;
  action?: Extract<Action, 'queued' | 'rewritten'>;
  /** Already recorded as a per-host event (TLS findings): it may still answer the request, but adds no event per request. */
  recorded?: boolean;
  /**
   * The platforms whose rules it breaks, in the config's order (SPEC §12); every configured one
   * when absent. One that only later platforms have never blocks: it is `reported`.
   */
  platforms?: readonly PlatformName[];
  /** The errMsg reason when the first platform words it otherwise than SPEC §10 (Douyin's `app in background`). */
  reason?: string;
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
   */
  onTunnel?(host: string, port: number): void;
  /**
   * True when this rule answers every request to `host` itself (enforce mode), whatever the
   * request: then nothing is started for it early, and the upstream is never contacted.
   */
  refusesHost?(host: string): boolean;
  /** Before any upstream connection. May wait (a queue, the first TLS audit of a host); most return at once. */
  onRequest?(ex: Exchange): Finding | undefined | Promise<Finding | undefined>;
  /** When the upstream's response head arrives (`ex.status`, `ex.responseHeaders` are set). */
  onResponseHead?(ex: Exchange): Finding | undefined;
  /** A per-exchange observer of the response body, or undefined when this response needs none. */
  observeBody?(ex: Exchange): BodyObserver | undefined;
  /** Exactly once per admitted exchange, however it ended: release slots, clear timers. */
  onEnd?(ex: Exchange): void;
}
