/**
 * `concurrency-queued` (info, docs/device.md): with `overflow: "queue"` (the default), a
 * request, uploadFile or downloadFile call over its API's cap waits for a place, first come first
 * served per API and client, as a device's runtime holds it (its `res.profile` reports
 * `queueStart`/`queueEnd`). The event is recorded once, when the call leaves the line: with
 * `queuedMs` (the time it waited) and `inFlight` (the calls that held the places when it came);
 * a call whose client left while it waited is out of the line at once and its event says
 * `outcome: "aborted"`. Its timeout starts when it leaves (the registry runs this rule before
 * `timeout`). Over a later platform's cap only, or in `report` mode, the call does not wait: the
 * event is `reported` with `queuedMs: 0`.
 */
import type { ProxyContext } from '../context.js';
import type { QueueFields } from '../flow/events.js';
import type { Exchange } from '../flow/exchange.js';
import type { Slots } from './concurrency-slots.js';
import type { Finding, Rule } from './types.js';

const ms = (n: number) => Math.round(n * 10) / 10;

export function concurrencyQueued(ctx: Pick<ProxyContext, 'config' | 'log'>, slots: Slots): Rule {
  /** What a waiting call's event needs when it leaves without its place. */
  const waiting = new WeakMap<Exchange, { since: number; said: string; finding: Finding; inFlight: QueueFields['inFlight']; leave: (f: QueueFields) => void }>();
  return {
    ids: ['concurrency-queued'],
    appliesTo: ['request', 'uploadFile', 'downloadFile'],
    onRequest: (ex) => {
      const breaches = slots.breaches(ex);
      if (breaches.length === 0) { slots.acquire(ex); return undefined; }
      const said = breaches.map((b) => slots.describe(b, ex)).join('; ');
      const inFlight = breaches[0]!.holders;
      const finding: Finding = {
        rule: 'concurrency-queued', severity: 'info',
        platforms: breaches.map((b) => b.slot.platform.name),
        message: `${said}: a device holds the call until a place frees`,
        queue: { queuedMs: 0, inFlight },
        admit: () => slots.acquire(ex),
        hold: (leave) => new Promise<void>((resolve) => {
          const since = performance.now();
          waiting.set(ex, { since, said, finding, inFlight, leave });
          // The event comes when it leaves the line; `--log-level debug` shows when it joined.
          ctx.log.debug({ id: ex.id, client: ex.client, api: ex.api, url: ex.url, inFlight: inFlight.length }, 'waiting for a place');
          slots.enqueue(ex, () => {
            waiting.delete(ex);
            const queuedMs = ms(performance.now() - since);
            finding.message = `${said}: waited ${queuedMs} ms for a place`;
            leave({ queuedMs, inFlight });
            resolve();
          });
        }),
      };
      return finding;
    },
    onEnd: (ex) => {
      const w = waiting.get(ex);
      if (w) {
        // It ended while it waited (its client left, background mode, shutdown): out of the line at once.
        waiting.delete(ex);
        const queuedMs = ms(performance.now() - w.since);
        const outcome = ex.outcome === undefined || ex.outcome === 'aborted' ? 'aborted' : ex.outcome;
        w.finding.message = `${w.said}: left after waiting ${queuedMs} ms (${outcome})`;
        slots.release(ex);
        w.leave({ queuedMs, inFlight: w.inFlight, outcome });
        return;
      }
      slots.release(ex);
    },
  };
}
