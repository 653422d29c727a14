/**
 * Where an exchange meets its network condition at the request stage (docs/network.md), after the rules
 * have admitted or blocked it: the faults that answer instead of the upstream (`error-status`,
 * `dns-fail`, `offline`, an `outage` that is down), `hang`, and the latency added once per exchange
 * before the response head. The proxy's own answers get the latency too.
 */
import type { Exchange } from '../flow/exchange.js';
import { type ProxyAnswer, upstreamErrorAnswer } from '../flow/respond.js';
import type { Fault, Profile } from '../../config/network.js';
import type { Condition } from './conditions.js';

/** One draw of latency ± jitter, never below 0. */
export function drawLatency(p: Readonly<Profile>): number {
  const base = p.latencyMs ?? 0;
  const jitter = p.jitterMs ?? 0;
  return jitter > 0 ? Math.max(0, base + (Math.random() * 2 - 1) * jitter) : base;
}

/** An `outage` is down for `forMs` at the end of every `everyMs`, counted from when its rule took effect. */
export function outageDown(fault: Extract<Fault, { type: 'outage' }>, since: number, now = performance.now()): boolean {
  return (now - since) % fault.everyMs >= fault.everyMs - fault.forMs;
}

/** The answer of a fault that stands in for the upstream, or undefined when the exchange goes on. */
export function faultAnswer(ex: Exchange, c: Condition): ProxyAnswer | undefined {
  const unreachable = (fault: string, reason: string, message: string): ProxyAnswer => {
    const a = upstreamErrorAnswer(ex.api, 'upstream-unreachable', reason, message);
    return { ...a, headers: { ...a.headers, 'x-mgproxy-fault': fault } };
  };
  if (c.offline) return unreachable('offline', 'enetunreach', 'the network is offline (network condition "offline")');
  const f = c.fault;
  if (!f) return undefined;
  switch (f.type) {
    case 'dns-fail':
      return unreachable('dns-fail', 'enotfound', `getaddrinfo ENOTFOUND ${ex.host} (network fault "dns-fail")`);
    case 'outage':
      return outageDown(f, c.since) ? unreachable('outage', 'enetunreach', 'the network is down (network fault "outage")') : undefined;
    case 'error-status': {
      if (Math.random() * 100 >= (f.percent ?? 100)) return undefined;
      const status = f.status ?? 503;
      return {
        status,
        headers: { 'x-mgproxy-fault': 'error-status' },
        body: JSON.stringify({ error: `mgproxy network fault "error-status": ${status}`, fault: 'error-status', status }),
      };
    }
    default:
      return undefined;
  }
}

/**
 * Goes on with an admitted or blocked exchange under its condition: `go` forwards it, `block`
 * (given when a rule stopped it) gives the rule's answer. A `hang` does neither: the rules'
 * timeout answers it. A fault's own answer ends the exchange with outcome `fault`.
 */
export function proceedUnder(ex: Exchange, c: Condition, block: (() => void) | undefined, go: () => void): void {
  const latency = c.profile ? drawLatency(c.profile) : 0;
  const later = (fn: () => void) => {
    if (latency <= 0) { fn(); return; }
    setTimeout(() => { if (ex.state === 'admitting') fn(); }, latency);
  };
  if (block) { later(block); return; }
  if (c.fault?.type === 'hang') return;
  const answer = faultAnswer(ex, c);
  if (answer) { later(() => ex.answer(answer, 'fault')); return; }
  later(go);
}
