/**
 * `concurrency-exceeded` (docs/device.md): a call over its API's cap is refused with 429
 * `<api>:fail exceed max task count`. That is what the developer tools' simulator does with every
 * API (`overflow: "reject"`), and what happens to a 6th open socket from one client whatever
 * `overflow` says: a device queues HTTP calls, never sockets. Over a later platform's cap only, or
 * in `report` mode, the call goes on and is recorded. Places are given back in `onEnd`, however
 * the exchange ended.
 */
import type { ProxyContext } from '../context.js';
import type { Slots } from './concurrency-slots.js';
import type { Finding, Rule } from './types.js';

export function concurrencyExceeded(ctx: Pick<ProxyContext, 'config'>, slots: Slots): Rule {
  return {
    ids: ['concurrency-exceeded'],
    // With `overflow: "queue"` the HTTP APIs are concurrency-queued's.
    ...(ctx.config.concurrency.overflow === 'queue' ? { appliesTo: ['connectSocket'] as const } : {}),
    onRequest: (ex) => {
      const breaches = slots.breaches(ex);
      if (breaches.length === 0) { slots.acquire(ex); return undefined; }
      const finding: Finding = {
        rule: 'concurrency-exceeded', severity: 'error',
        platforms: breaches.map((b) => b.slot.platform.name),
        message: breaches.map((b) => slots.describe(b, ex)).join('; '),
        // The calls that held the places (the dashboard's marker lists them).
        queue: { inFlight: breaches[0]!.holders },
        // Going on anyway (report mode, or over a later platform's cap only): it holds its places too.
        admit: () => slots.acquire(ex),
      };
      return finding;
    },
    onEnd: (ex) => slots.release(ex),
  };
}
