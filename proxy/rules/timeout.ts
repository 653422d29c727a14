/**
 * `timeout` (docs/rules.md, docs/rules.md "Timeouts"): per API from the config, else game.json's `networkTimeout`,
 * else 60000, capped at 60000. HTTP: from the request head to the response's last byte; socket:
 * the handshake. 504 when nothing was sent yet, else the connection is cut (pipeline.raise).
 *
 * With `overflow: "queue"` (the default) the clock starts when the request leaves the queue, not
 * while it waits for a slot (the registry runs concurrency-queued first; docs/device.md). WeChat counts only the time after
 * dispatch: `res.profile` reports `queueStart`/`queueEnd` apart from the request's own timings, and
 * the developers' community forum confirms that a queued call's timeout runs from its dispatch
 * (thread 000a4a318343d0c4ba72ca28866c00, 2024-11-26). A request refused with 429 never starts one.
 */
import type { ProxyContext } from '../context.js';
import type { Exchange } from '../flow/exchange.js';
import { raise } from './pipeline.js';
import type { Rule } from './types.js';

export function timeout(ctx: Pick<ProxyContext, 'config'>): Rule {
  const timers = new WeakMap<Exchange, NodeJS.Timeout>();
  return {
    ids: ['timeout'],
    onRequest: (ex) => {
      const ms = ctx.config.timeouts[ex.api];
      timers.set(ex, setTimeout(() => {
        // A socket whose handshake got its answer (101 or not) has not timed out.
        if (ex.isWebSocket && ex.state === 'answered') return;
        const what = ex.isWebSocket ? 'no handshake answer' : 'no complete response';
        raise(ctx, ex, { rule: 'timeout', severity: 'error', message: `${what} within ${ms} ms (networkTimeout.${ex.api})` });
      }, ms));
      return undefined;
    },
    onEnd: (ex) => clearTimeout(timers.get(ex)),
  };
}
