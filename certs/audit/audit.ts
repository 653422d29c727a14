/**
 * Auditing one upstream host:port (docs/tls-audit.md): probe, gather missing issuers (from other hosts'
 * chains, or the caIssuers URL), build the chain, run every check. The steps are separate so that
 * `mgproxy audit` can probe every host first and let each chain be completed with the
 * intermediates the others sent.
 */
import { type BuiltChain, buildChain } from './chain.js';
import { describeCert, keyOf, notAfterOf, shortName, signatureAlgorithmOf } from './describe.js';
import { CHECKS, unreachableFinding } from './findings.js';
import { fetchMissingIssuers, type Route } from './aia.js';
import { AUDIT_TIMEOUT_MS, type Handshake, probe, type ProbeFailure, type ProbeResult, type ProbeTarget } from './probe.js';
import type { TrustStore } from './trust.js';
import type { AuditFinding, HostAudit } from './types.js';

/** A HostAudit (the JSON shape) and what the proxy and the table need besides. */
export interface AuditOutcome {
  audit: HostAudit;
  /** False when no handshake was possible (`tls-unreachable`): the proxy audits such a host again later. */
  reachable: boolean;
  /** SHA-256 fingerprint of the leaf the audit checked, to pin later connections to it. */
  leafFingerprint256?: string;
  /** What the server chose when the probe offered `h2` and `http/1.1` (certs/audit/probe.ts). */
  alpn?: string;
  /** For the table: where it connected, whether TLS 1.2 was accepted, the leaf, the chain as built. */
  details: {
    route: string;
    tls12?: boolean;
    leafKey?: string;
    leafSignature?: string;
    leafNotAfter?: Date;
    chainNames?: string[];
    trustFile?: string;
  };
}

export const errorsOf = (audit: HostAudit): AuditFinding[] => audit.findings.filter((f) => f.severity === 'error');

const routeOf = (t: ProbeTarget) => `${t.connect.host}:${t.connect.port}`;

/**
 * `built`: the chain as gatherIssuers last built it. A complete one stands (what other hosts add to
 * the store later cannot change it); one that stops short is built again, with what came since.
 */
export function analyse(target: ProbeTarget, result: ProbeResult, trust: TrustStore, now = Date.now(), built?: BuiltChain): AuditOutcome {
  const route = routeOf(target);
  const via = route === `${target.host}:${target.port}` ? '' : ` (upstream.hosts: ${route})`;
  const best = shownHandshake(result);
  if (!best) {
    const failure = result.best as ProbeFailure; // neither handshake succeeded
    return {
      reachable: false,
      audit: { host: target.host, port: target.port, protocol: null, cipher: null, chain: [], trustedVia: null, findings: [unreachableFinding(target.host, target.port, via, failure)] },
      details: { route },
    };
  }
  const chain = built && built.end !== 'issuer-unknown' ? built : buildChain(best.sent, trust, now);
  const facts = { host: target.host, port: target.port, now, best, tls12: result.tls12, chain };
  const findings = CHECKS.map((check) => check(facts)).filter((f): f is AuditFinding => f !== undefined);
  if (chain.trustedVia === 'extraCaFiles') {
    // docs/config.md: findings on such chains say so, so nobody mistakes a test root for a public one.
    for (const f of findings) f.message += ` (trusted only via upstream.extraCaFiles ${chain.trustFile}, a root phones do not have)`;
  }
  const leaf = best.sent[0]!;
  const key = keyOf(leaf);
  return {
    reachable: true,
    leafFingerprint256: best.leafFingerprint256,
    alpn: (result.tls12.ok ? result.tls12.alpn : undefined) ?? (result.best.ok ? result.best.alpn : undefined),
    audit: {
      host: target.host, port: target.port, protocol: best.protocol, cipher: best.cipher,
      chain: best.sent.map(describeCert), trustedVia: chain.trustedVia, findings,
    },
    details: {
      route, tls12: result.tls12.ok, leafKey: `${key.type} ${key.bits}`, leafSignature: signatureAlgorithmOf(leaf).name,
      leafNotAfter: notAfterOf(leaf), chainNames: chain.links.map((l) => `${shortName(l.cert)}${l.source === 'sent' ? '' : ` [${l.source}]`}`),
      trustFile: chain.trustFile,
    },
  };
}

/** The handshake the audit judges: the best one, else the TLS 1.2 one. */
export function shownHandshake(result: ProbeResult): Handshake | undefined {
  return result.best.ok ? result.best : result.tls12.ok ? result.tls12 : undefined;
}

export interface AuditDeps { trust: TrustStore; route: Route }

/**
 * Completes what the chain lacks, within the host's time: the certificates this host sent are
 * kept to complete other hosts' chains, and a missing issuer is fetched from its caIssuers URL.
 */
export async function gatherIssuers(target: ProbeTarget, result: ProbeResult, deps: AuditDeps, deadline: number, signal?: AbortSignal): Promise<BuiltChain | undefined> {
  const shown = shownHandshake(result);
  if (!shown) return undefined;
  deps.trust.remember(shown.sent, target.host);
  return fetchMissingIssuers(shown.sent, deps.trust, deps.route, deadline, signal);
}

/**
 * Probes and analyses one host, all within `timeoutMs` (docs/rules.md: 10 s). `signal` cancels it at
 * once, its sockets destroyed: the Promise then rejects with the signal's reason. `forwarding` is
 * the proxy's own connection's handshake, when it opened one (certs/audit/probe.ts).
 */
export async function auditHost(target: ProbeTarget, deps: AuditDeps, timeoutMs = AUDIT_TIMEOUT_MS, signal?: AbortSignal, forwarding?: Promise<Handshake | undefined>): Promise<AuditOutcome> {
  const deadline = Date.now() + timeoutMs;
  const result = await probe(target, timeoutMs, signal, forwarding);
  signal?.throwIfAborted();
  const chain = await gatherIssuers(target, result, deps, deadline, signal);
  signal?.throwIfAborted();
  return analyse(target, result, deps.trust, Date.now(), chain);
}
