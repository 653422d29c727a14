/**
 * `concurrency-exceeded` (SPEC §4, §10 "Concurrency"): per client source IP, one cap shared by
 * request + uploadFile + downloadFile (10) and one for open sockets (5). Over the cap: 429 with
 * `overflow: "reject"`, or held until a slot frees with `"queue"` (recorded as `queued`). In
 * `report` mode the request goes on and is recorded. A slot is released in `onEnd`, however the
 * exchange ended, and handed straight to the next one waiting.
 */
import type { ProxyContext } from '../context.js';
import type { Exchange } from '../exchange.js';
import type { Finding, Rule } from './types.js';

export function concurrencyExceeded(ctx: Pick<ProxyContext, 'config'>): Rule {
  const { http, socket, overflow } = ctx.config.concurrency;
  const used = new Map<string, number>();
  const queues = new Map<string, Exchange[]>();
  const holding = new WeakMap<Exchange, string>();
  const wakers = new WeakMap<Exchange, () => void>();

  const keyOf = (ex: Exchange) => `${ex.isWebSocket ? 'socket' : 'http'} ${ex.client}`;
  const acquire = (ex: Exchange, key: string) => {
    used.set(key, (used.get(key) ?? 0) + 1);
    holding.set(ex, key);
  };
  const release = (key: string) => {
    const n = (used.get(key) ?? 1) - 1;
    if (n === 0) used.delete(key);
    else used.set(key, n);
    const queue = queues.get(key);
    const next = queue?.shift();
    if (queue?.length === 0) queues.delete(key);
    if (next) wakers.get(next)!();
  };

  return {
    ids: ['concurrency-exceeded'],
    onRequest: (ex) => {
      const key = keyOf(ex);
      const cap = ex.isWebSocket ? socket : http;
      const inUse = used.get(key) ?? 0;
      if (inUse < cap) { acquire(ex, key); return undefined; }
      const finding: Finding = {
        rule: 'concurrency-exceeded', severity: 'error',
        message: ex.isWebSocket
          ? `${ex.client} already has ${inUse} sockets open (max ${cap})`
          : `${ex.client} already has ${inUse} request/uploadFile/downloadFile in flight (max ${cap})`,
      };
      if (ctx.config.mode === 'report') { acquire(ex, key); return finding; }
      if (overflow === 'reject') return finding;
      ex.record(finding, 'queued');
      return new Promise<undefined>((resolve) => {
        wakers.set(ex, () => { acquire(ex, key); resolve(undefined); });
        const queue = queues.get(key) ?? [];
        queue.push(ex);
        queues.set(key, queue);
      });
    },
    onEnd: (ex) => {
      const key = holding.get(ex);
      if (key !== undefined) { holding.delete(ex); release(key); return; }
      // Left while queued: out of the line.
      const queue = queues.get(keyOf(ex));
      const at = queue?.indexOf(ex) ?? -1;
      if (queue && at >= 0) queue.splice(at, 1);
      if (queue?.length === 0) queues.delete(keyOf(ex));
    },
  };
}
