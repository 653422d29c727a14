/**
 * Runs the rules in registry order (SPEC §3 step 4). In `enforce` mode the first error finding
 * answers the request and the rest do not run; in `report` mode every finding is recorded and the
 * request goes on. Synchronous unless a rule has to wait, so the common path allocates no Promise.
 */
import type { Exchange } from '../exchange.js';
import type { ProxyContext } from '../context.js';
import type { Finding, Rule } from './types.js';

type Verdict = Finding | undefined;

/** Records a finding; returns it when it stops the request. */
function settle(ctx: ProxyContext, ex: Exchange, finding: Finding | undefined): Verdict {
  if (!finding) return undefined;
  if (finding.severity === 'error' && ctx.config.mode === 'enforce' && finding.action === undefined) return finding;
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

/** The body observers this response needs; empty for most binary bodies. */
export function bodyObservers(ctx: ProxyContext, ex: Exchange): { observe: (chunk: Buffer) => void; end: () => void } | undefined {
  let observers: ReturnType<NonNullable<Rule['observeBody']>>[] | undefined;
  for (const rule of ctx.rules) {
    if (!rule.observeBody || !applies(rule, ex)) continue;
    const o = rule.observeBody(ex);
    if (o) (observers ??= []).push(o);
  }
  if (!observers) return undefined;
  const list = observers as NonNullable<(typeof observers)[number]>[];
  return {
    observe: (chunk) => { for (const o of list) o.write(chunk); },
    end: () => { for (const o of list) settle(ctx, ex, o.end()); },
  };
}
