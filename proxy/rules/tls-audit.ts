/**
 * The inline TLS audit (docs/tls-audit.md, docs/rules.md): before the first request to an https/wss host:port goes
 * upstream, the upstream's TLS and certificate are audited once (certs/audit) and every finding
 * becomes one per-host violation event for the run (`rule severity host port action message
 * time`, no request fields). In `enforce` mode an error finding answers every request to that
 * host with 502 and `ssl hand shake error`; warnings never block. A host with findings that is
 * still forwarded to is pinned to the leaf the audit checked (proxy/engine/upstream/pinned-tls.ts).
 * Recording and pinning are the pipeline's (settleHostAudit), like every other finding's effect.
 */
import type { AuditOutcome } from '../../certs/audit/audit.js';
import { AuditCache } from '../../certs/audit/cache.js';
import { TrustStore } from '../../certs/audit/trust.js';
import type { ProxyContext } from '../context.js';
import type { Exchange } from '../flow/exchange.js';
import { TLS_RULE_IDS } from '../../config/vocabulary.js';
import type { HostFinding, Rule } from './types.js';

/**
 * The audit's code (probe, chain building, AIA, findings) is loaded by the first tunnel, not at
 * start: the first CONNECT's 200 does not wait for it, and its handshake and the upstream's run meanwhile.
 */
let auditModule: Promise<typeof import('../../certs/audit/audit.js')> | undefined;
const loadAudit = () => (auditModule ??= import('../../certs/audit/audit.js'));
let errorsOf: typeof import('../../certs/audit/audit.js').errorsOf | undefined;

/** When Node's roots are parsed if no audit needed them sooner. */
const ROOTS_WARM_DELAY_MS = 300;

/**
 * `settle` gets each finished audit once: the pipeline records its findings and pins the host
 * (pipeline.ts settleHostAudit); this rule only audits and answers requests.
 */
export function tlsAudit(ctx: Omit<ProxyContext, 'rules'>, settle: (outcome: AuditOutcome) => void): Rule {
  const trust = new TrustStore(ctx.config.extraCas);
  // Node's roots are parsed once (~20 ms): off the first request's path, and out of the first
  // moments after start, when the first CONNECTs come.
  setTimeout(() => trust.warm(), ROOTS_WARM_DELAY_MS).unref();
  const deps = { trust, route: (host: string, port: number) => ({ ...ctx.upstream.connectOptions(host, port), tunnel: ctx.upstream.tunnel(host, port) }) };
  const cache = new AuditCache();

  /** Each kept outcome's verdict, worked out once: every request to the host reads it. */
  const verdicts = new WeakMap<AuditOutcome, HostFinding | null>();
  function verdict(outcome: AuditOutcome): HostFinding | undefined {
    // Unreachable: the forwarder's own 502 (`x-mgproxy-error`) says so; the next request audits again.
    if (!outcome.reachable) return undefined;
    let v = verdicts.get(outcome);
    if (v === undefined) {
      // Loaded: an outcome comes from the module.
      const error = errorsOf!(outcome.audit)[0];
      // The host's event is recorded already (`settle`): this finding answers the request, adding no event.
      v = error ? { rule: error.rule, severity: 'error', message: `${error.message}. Fix: ${error.fix}`, host: outcome.audit.host, port: outcome.audit.port } : null;
      verdicts.set(outcome, v);
    }
    return v ?? undefined;
  }

  /** The host's audit: kept or under way (read without making anything), else started. */
  const audit = (host: string, port: number) => {
    const key = `${host}:${port}`;
    return cache.peek(key) ?? cache.get(key, (signal) => {
      const connect = ctx.upstream.connectOptions(host, port);
      const target = { host, port, connect, tunnel: ctx.upstream.tunnel(host, port), refused: ctx.upstream.loopCheck(connect) };
      const forwarding = ctx.upstream.handshakeAhead(host, port);
      return loadAudit().then((m) => {
        errorsOf = m.errorsOf;
        return m.auditHost(target, deps, undefined, signal, forwarding);
      });
    }, settle);
  };
  /** What each request waiting for its host's audit lets go of at its end. */
  const waiting = new WeakMap<Exchange, () => void>();

  return {
    ids: TLS_RULE_IDS.filter((id) => id !== 'tls-unreachable'),
    onTunnel(host, port) {
      // Started with the client's handshake, the audit is usually done when its first request
      // comes. Held while the tunnel lives: if every tunnel (and request) waiting for it leaves
      // first, it is stopped at once (certs/audit/cache.ts).
      const started = audit(host, port);
      if (!(started instanceof Promise)) return undefined;
      started.catch(() => undefined);
      return cache.hold(`${host}:${port}`);
    },
    onRequest(ex: Exchange) {
      if (ex.scheme !== 'https' && ex.scheme !== 'wss') return undefined;
      const outcome = audit(ex.host, ex.port);
      if (!(outcome instanceof Promise)) return verdict(outcome);
      waiting.set(ex, cache.hold(`${ex.host}:${ex.port}`));
      return outcome.then(verdict);
    },
    onEnd(ex: Exchange) {
      waiting.get(ex)?.();
    },
  };
}
