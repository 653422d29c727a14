/**
 * Runs every rule hook in registry order (docs/architecture.md step 4), and is the one place that decides what
 * a finding does: `decide()` is the only reader of the mode. In `enforce` mode the first error
 * finding answers the request and the rest do not run; in `report` mode every finding is recorded
 * and the request goes on. Synchronous unless a rule has to wait, so the common path allocates no
 * Promise.
 */
import type { AuditOutcome } from '../../certs/audit/audit.js';
import type { Mode } from '../../config/schema.js';
import type { PlatformName } from '../../config/platforms.js';
import { type Action, type Api, APIS } from '../../config/vocabulary.js';
import type { ProxyContext } from '../context.js';
import type { Exchange } from '../flow/exchange.js';
import { preflightAnswer, ruleAnswer } from '../flow/respond.js';
import { decoderFor } from './body/decoders.js';
import type { BodyObserver, Finding, HostFinding, Rule, Verdict } from './types.js';

/**
 * Where a finding arises: `tunnel` (from the host alone, before any request), `request` (before
 * the upstream is contacted), `response` (at the upstream's response head), `body` (after the
 * last byte went to the client), `timer` (an exchange under way, whatever it has sent: timeout,
 * background), `host` (a per-host TLS finding).
 */
export type Phase = 'tunnel' | 'request' | 'response' | 'body' | 'timer' | 'host';

/** What decide() needs to know of the run and the exchange. */
export interface Situation {
  mode: Mode;
  /** The first configured platform: only its rules block (docs/platforms.md). */
  platform: PlatformName;
  /** Nothing of a response has reached the client yet, so the proxy can still answer. */
  answerable: boolean;
}

/**
 * What a finding does: its `action` as recorded (docs/rules.md, docs/rules.md `action`, docs/platforms.md), and how the exchange
 * is stopped: with the rule's answer (only while nothing was sent), cut, or not at all.
 */
export interface Decision { action: Action; stop?: 'answer' | 'cut' }

const NOTHING: Decision = { action: 'reported' };

/** The one place that decides what a finding does, and the only reader of the mode. */
export function decision(finding: Finding | HostFinding, phase: Phase, at: Situation): Decision {
  if ('rewritten' in finding && finding.rewritten) return { action: 'rewritten' };
  if (at.mode === 'report') return NOTHING;
  // What only later platforms forbid (or hold) is reported.
  const platforms = 'platforms' in finding ? finding.platforms : undefined;
  if (platforms !== undefined && platforms[0] !== at.platform) return NOTHING;
  // A call the device holds back (docs/device.md) waits, whatever its severity.
  if ('hold' in finding && finding.hold && (phase === 'request' || phase === 'tunnel')) return { action: 'queued' };
  if (finding.severity !== 'error') return NOTHING;
  switch (phase) {
    case 'tunnel':
    case 'request': return { action: 'blocked', stop: 'answer' };
    case 'host':
    case 'response': return { action: 'blocked', stop: 'answer' };
    // The whole body has gone to the client: nothing left to stop.
    case 'body': return NOTHING;
    case 'timer':
      if (!at.answerable) return { action: 'cut', stop: 'cut' };
      // An interruption is a cut in the events, yet answered (503) while nothing was sent (docs/rules.md).
      return { action: 'interrupts' in finding && finding.interrupts ? 'cut' : 'blocked', stop: 'answer' };
  }
}

/** The action alone (what an event records). */
export const decide = (finding: Finding | HostFinding, phase: Phase, at: Situation): Action => decision(finding, phase, at).action;

const situationOf = (ctx: Pick<ProxyContext, 'config'>, ex?: Exchange): Situation => ({
  mode: ctx.config.mode, platform: ctx.config.platformNames[0]!, answerable: ex ? ex.answerable : true,
});

const isHostFinding = (f: Finding | HostFinding): f is HostFinding => 'port' in f;

/** The rules that apply to one API, per hook, in registry order. */
interface Hooks { request: readonly Rule[]; responseHead: readonly Rule[]; body: readonly Rule[]; end: readonly Rule[] }

/**
 * Per registry and API, the rules each phase runs: sorted once, not asked of every rule on every
 * exchange (the registry of a running proxy never changes).
 */
const hooksCache = new WeakMap<readonly Rule[], Readonly<Record<Api, Hooks>>>();

function hooksOf(rules: readonly Rule[], api: Api): Hooks {
  let byApi = hooksCache.get(rules);
  if (!byApi) {
    const of = (a: Api): Hooks => {
      const here = rules.filter((r) => !r.appliesTo || r.appliesTo.includes(a));
      return {
        request: here.filter((r) => r.onRequest || r.checkHost),
        responseHead: here.filter((r) => r.onResponseHead),
        body: here.filter((r) => r.observeBody),
        end: here.filter((r) => r.onEnd),
      };
    };
    byApi = Object.fromEntries(APIS.map((a) => [a, of(a)])) as Record<Api, Hooks>;
    hooksCache.set(rules, byApi);
  }
  return byApi[api];
}

/** Records a per-host finding once, as a per-host event (no request fields). */
export function recordHostFinding(ctx: Pick<ProxyContext, 'config' | 'events'>, f: HostFinding, time = new Date().toISOString()): void {
  ctx.events.record({
    rule: f.rule, severity: f.severity, host: f.host, port: f.port, action: decide(f, 'host', situationOf(ctx)), message: f.message,
    // The certificate requirements are the same on every platform.
    platform: ctx.config.platformNames[0]!, platforms: ctx.config.platformNames, time,
  });
}

/**
 * A host's TLS audit finished (rules/tls-audit.ts): each finding becomes a per-host event, the
 * audit is kept for the report, and a host with findings that is still forwarded to is pinned to
 * the leaf the audit checked (proxy/engine/upstream/pinned-tls.ts).
 */
export function settleHostAudit(ctx: Pick<ProxyContext, 'config' | 'events' | 'upstream'>, outcome: AuditOutcome): void {
  const { audit } = outcome;
  const time = new Date().toISOString();
  for (const f of audit.findings) recordHostFinding(ctx, { rule: f.rule, severity: f.severity, host: audit.host, port: audit.port, message: f.message }, time);
  ctx.events.recordHostAudit(audit);
  // Whether the origin accepts h2, for the health report (proxy/engine/upstream/origin-alpn.ts).
  if (outcome.alpn !== undefined) ctx.upstream.origins.note(audit.host, audit.port, ['h2'], outcome.alpn);
  if (audit.findings.length > 0 && outcome.leafFingerprint256) ctx.upstream.pin(audit.host, audit.port, outcome.leafFingerprint256);
}

/**
 * True when some rule would block every request to `host`, whatever the request: then nothing is
 * started for it early, and the upstream is never contacted.
 */
export function checkHost(ctx: Pick<ProxyContext, 'config' | 'rules'>, host: string): boolean {
  const at = situationOf(ctx);
  return ctx.rules.some((rule) => {
    const finding = rule.checkHost?.(host);
    return finding !== undefined && decide(finding, 'tunnel', at) === 'blocked';
  });
}

/**
 * A CONNECT to `host:port` is being intercepted: unless the host is refused (then undefined),
 * `open` starts the upstream connection and then the rules start what its first request will
 * need (the TLS audit uses that connection's handshake). Returns what the tunnel calls when it
 * closes, letting go of what it held.
 */
export function onTunnel(ctx: ProxyContext, host: string, port: number, open: () => void = () => undefined): (() => void) | undefined {
  if (checkHost(ctx, host)) return undefined;
  open();
  let releases: (() => void)[] | undefined;
  for (const rule of ctx.rules) {
    const release = rule.onTunnel?.(host, port);
    if (release) (releases ??= []).push(release);
  }
  return () => { if (releases) for (const r of releases) r(); };
}

type Blocking = Finding | HostFinding | undefined;

/**
 * Decides a request-phase finding: records it (a per-host one was recorded with its host) and
 * returns it when it blocks; a Promise when the exchange is held in a queue.
 */
function settleRequest(ctx: ProxyContext, ex: Exchange, finding: Verdict): Blocking | Promise<void> {
  if (!finding) return undefined;
  const action = decide(finding, 'request', situationOf(ctx, ex));
  // Held for a slot: `queued` until it frees, then back to `admitting` for the remaining rules.
  // Recorded when it leaves the queue (its slot, or its end while it waited), with the time it waited.
  if (action === 'queued' && !isHostFinding(finding)) {
    ex.moveTo('queued');
    return finding.hold!((queue) => { ex.record({ ...finding, queue }, action); });
  }
  if (!isHostFinding(finding)) ex.record(finding, action);
  if (action === 'blocked') return finding;
  if (action === 'reported' && !isHostFinding(finding)) finding.admit?.();
  return undefined;
}

/** The request hooks, `from` on: the blocking finding (already recorded), if any; a Promise only when a rule waited. */
export function runRequestRules(ctx: ProxyContext, ex: Exchange, from = 0): Blocking | Promise<Blocking> {
  const rules = hooksOf(ctx.rules, ex.api).request;
  for (let i = from; i < rules.length; i++) {
    const rule = rules[i]!;
    const found = rule.onRequest ? rule.onRequest(ex) : rule.checkHost?.(ex.host);
    if (found === undefined) continue;
    // Made only for a rule that found something or waits: a rule with nothing to say allocates nothing.
    const next = () => runRequestRules(ctx, ex, i + 1);
    if (found instanceof Promise) {
      return found.then((finding) => {
        // Answered (a timer) or ended while the rule waited: nothing more to decide.
        if (ex.state !== 'admitting') return undefined;
        const settled = settleRequest(ctx, ex, finding);
        if (settled instanceof Promise) return settled.then(() => (ex.moveTo('admitting') ? next() : undefined));
        return settled ?? next();
      });
    }
    const settled = settleRequest(ctx, ex, found);
    if (settled instanceof Promise) return settled.then(() => (ex.moveTo('admitting') ? next() : undefined));
    if (settled) return settled;
  }
  return undefined;
}

/** At the response head: records every finding; returns the one that must stop the response (enforce mode). */
export function runResponseHeadRules(ctx: Pick<ProxyContext, 'config' | 'rules'>, ex: Exchange): Finding | undefined {
  for (const rule of hooksOf(ctx.rules, ex.api).responseHead) {
    const finding = rule.onResponseHead!(ex);
    if (!finding) continue;
    const action = decide(finding, 'response', situationOf(ctx, ex));
    ex.record(finding, action);
    if (action === 'blocked') return finding;
  }
  return undefined;
}

/**
 * A timer-driven rule (timeout, background) raises a finding against an exchange under way: it is
 * answered, cut or only recorded, as decision() says.
 */
export function raise(ctx: Pick<ProxyContext, 'config'>, ex: Exchange, finding: Finding): void {
  if (ex.state === 'ended') return;
  const { action, stop } = decision(finding, 'timer', situationOf(ctx, ex));
  ex.record(finding, action);
  if (stop === 'answer') {
    ex.abortUpstream();
    answerFinding(ex, finding);
  } else if (stop === 'cut') ex.cut('cut');
}

/**
 * The answer to an exchange a finding stopped, instead of the upstream's: the rule's (docs/rules.md);
 * for a CORS preflight, 204 allowing what the page asked (docs/rules.md), so that its real request goes
 * out and gets the proxy's readable answer. The finding has been recorded.
 */
export function answerFinding(ex: Exchange, finding: Finding | HostFinding): void {
  if (ex.preflight) { ex.answer(preflightAnswer(ex.req), 'blocked'); return; }
  ex.answer(ruleAnswer(ex.api, finding.rule, finding.message, 'reason' in finding ? finding.reason : undefined), 'blocked');
}

/** The exchange ended, however it ended: the rules release what they hold. Called once, from Exchange.finish. */
export function onEnd(ctx: Pick<ProxyContext, 'rules'>, ex: Exchange): void {
  for (const rule of hooksOf(ctx.rules, ex.api).end) rule.onEnd!(ex);
}

/** Past this many encoded bytes a body is no longer decoded for the observers (they give no finding). */
const MAX_DECODED_INPUT = 32 * 1024 * 1024;

export interface BodyTap { observe(chunk: Buffer): void; end(): void }

/**
 * The body observers this response needs, behind one tap; undefined when none does. They see the
 * body as the game would (one zlib decoder when content-encoded, fed alongside the forwarded
 * stream, which is never touched). An unknown or broken encoding ends observation without findings.
 * A decoder gives its last output a little after the body's end (zlib works off the main thread):
 * the exchange's end waits for it (Exchange.awaitFindings), so every body finding is recorded
 * before the exchange ends and its line is logged; the client's response is not held.
 */
export function bodyObservers(ctx: Pick<ProxyContext, 'config' | 'rules'>, ex: Exchange): BodyTap | undefined {
  const observers: BodyObserver[] = [];
  for (const rule of hooksOf(ctx.rules, ex.api).body) {
    const o = rule.observeBody!(ex);
    if (o) observers.push(o);
  }
  if (observers.length === 0) return undefined;
  const write = (chunk: Buffer) => { for (const o of observers) o.write(chunk); };
  const finish = () => {
    for (const o of observers) {
      const finding = o.end();
      if (finding) ex.record(finding, decide(finding, 'body', situationOf(ctx, ex)));
    }
  };
  const decoder = decoderFor(ex.responseHeaders?.['content-encoding'] as string | undefined);
  if (decoder === null) return undefined;
  if (decoder === undefined) return { observe: write, end: finish };
  let input = 0;
  /** Decoding stopped (too big, or broken): no findings, nothing to wait for. */
  let abandoned = false;
  /** Lets the exchange end once the decoder is through (its end, its error or its close); called once. */
  let release: (() => void) | undefined;
  const settle = () => { const r = release; release = undefined; r?.(); };
  decoder.on('data', write);
  decoder.on('end', () => { finish(); settle(); });
  decoder.on('error', () => { abandoned = true; settle(); });
  decoder.on('close', settle);
  return {
    observe: (chunk) => {
      if (abandoned) return;
      input += chunk.length;
      if (input > MAX_DECODED_INPUT) { abandoned = true; decoder.destroy(); return; }
      decoder.write(chunk);
    },
    end: () => {
      if (abandoned) return;
      release = ex.awaitFindings();
      decoder.end();
    },
  };
}
