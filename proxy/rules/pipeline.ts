/**
 * Runs the rules in registry order (SPEC §3 step 4). In `enforce` mode the first error finding
 * answers the request and the rest do not run; in `report` mode every finding is recorded and the
 * request goes on. Synchronous unless a rule has to wait, so the common path allocates no Promise.
 */
import type { Exchange } from '../exchange.js';
import type { ProxyContext } from '../context.js';
import zlib from 'node:zlib';
import type { BodyObserver, Finding, Rule } from './types.js';

type Verdict = Finding | undefined;

/** Records a finding; returns it when it stops the request. */
function settle(ctx: ProxyContext, ex: Exchange, finding: Finding | undefined): Verdict {
  if (!finding) return undefined;
  // SPEC §12: the first platform decides; what only later platforms forbid is reported.
  const decisive = finding.platforms === undefined || finding.platforms[0] === ctx.config.platformNames[0];
  if (finding.severity === 'error' && ctx.config.mode === 'enforce' && finding.action === undefined && decisive) return finding;
  if (!finding.recorded) ex.record(finding, finding.action ?? 'reported');
  return undefined;
}

const applies = (rule: Rule, ex: Exchange) => !rule.appliesTo || rule.appliesTo.includes(ex.api);

/** The blocking finding, if any (not yet recorded: `ex.block` records it); a Promise only when a rule waited. */
export function runRequestRules(ctx: ProxyContext, ex: Exchange, from = 0): Verdict | Promise<Verdict> {
  const rules = ctx.rules;
  for (let i = from; i < rules.length; i++) {
    const rule = rules[i]!;
    if (!rule.onRequest || !applies(rule, ex)) continue;
    const result = rule.onRequest(ex);
    if (result instanceof Promise) {
      return result.then((finding) => {
        if (ex.ended) return undefined;
        return settle(ctx, ex, finding) ?? runRequestRules(ctx, ex, i + 1);
      });
    }
    const stop = settle(ctx, ex, result);
    if (stop) return stop;
  }
  return undefined;
}

/** At the response head: returns an error finding that must stop the response (enforce mode). */
export function runResponseHeadRules(ctx: ProxyContext, ex: Exchange): Verdict {
  for (const rule of ctx.rules) {
    if (!rule.onResponseHead || !applies(rule, ex)) continue;
    const stop = settle(ctx, ex, rule.onResponseHead(ex));
    if (stop) return stop;
  }
  return undefined;
}

/** Past this many encoded bytes a body is no longer decoded for the observers (they give no finding). */
const MAX_DECODED_INPUT = 32 * 1024 * 1024;

function decoderFor(encoding: string | undefined): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined | null {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case '':
    case 'identity': return undefined;
    case 'gzip':
    case 'x-gzip': return zlib.createGunzip();
    case 'deflate': return zlib.createInflate();
    case 'br': return zlib.createBrotliDecompress();
    default: return null;
  }
}

export interface BodyTap { observe(chunk: Buffer): void; end(): void }

/**
 * The body observers this response needs, behind one tap; undefined when none does. They see the
 * body as the game would (one zlib decoder when content-encoded, fed alongside the forwarded
 * stream, which is never touched). An unknown or broken encoding ends observation without findings.
 */
export function bodyObservers(ctx: ProxyContext, ex: Exchange): BodyTap | undefined {
  const observers: BodyObserver[] = [];
  for (const rule of ctx.rules) {
    if (!rule.observeBody || !applies(rule, ex)) continue;
    const o = rule.observeBody(ex);
    if (o) observers.push(o);
  }
  if (observers.length === 0) return undefined;
  const write = (chunk: Buffer) => { for (const o of observers) o.write(chunk); };
  const finish = () => { for (const o of observers) settle(ctx, ex, o.end()); };
  const decoder = decoderFor(ex.responseHeaders?.['content-encoding'] as string | undefined);
  if (decoder === null) return undefined;
  if (decoder === undefined) return { observe: write, end: finish };
  let input = 0;
  let abandoned = false;
  decoder.on('data', write);
  decoder.on('end', finish);
  decoder.on('error', () => { abandoned = true; });
  return {
    observe: (chunk) => {
      if (abandoned) return;
      input += chunk.length;
      if (input > MAX_DECODED_INPUT) { abandoned = true; decoder.destroy(); return; }
      decoder.write(chunk);
    },
    end: () => { if (!abandoned) decoder.end(); },
  };
}
