/**
 * The environment every Exchange of this proxy gets (proxy/flow/exchange.ts `ExchangeEnv`): the
 * services it reaches, narrowed to what it does with them. The exchange calls no rule: its end
 * reaches the pipeline's `onEnd` through `ended`, once.
 */
import type { ProxyContext } from '../context.js';
import type { Exchange, ExchangeEnv } from '../flow/exchange.js';
import { onEnd } from '../rules/pipeline.js';
import { rawLineWriter } from '../log.js';
import { exchangeFields, exchangeLine, INFO_LEVEL } from './exchange-line.js';

export function exchangeEnv(ctx: ProxyContext): ExchangeEnv {
  // Read once: the logger of a running proxy is never replaced.
  const raw = rawLineWriter(ctx.log);
  return {
    // Read at each use: a reloaded config replaces ctx.config.
    get platformNames() { return ctx.config.platformNames; },
    conditionFor: (client, host) => ctx.network.conditionFor(client, host),
    clientName: (client) => ctx.clients.nameOf(client),
    started(ex: Exchange) {
      ctx.events.requests++;
      ctx.clients.countExchange(ex.client, ex.isWebSocket);
      ctx.inFlight.add(ex);
      ctx.events.emit('exchange-start', ex);
    },
    violation(ex, v) {
      ctx.clients.countViolation(ex.client);
      return ctx.events.record(v);
    },
    queued: (ex, waiting) => { if (waiting) ctx.inFlight.wait(ex); else ctx.inFlight.resume(ex); },
    ended(ex) {
      ctx.inFlight.delete(ex);
      onEnd(ctx, ex);
      if (ctx.log.levelVal <= INFO_LEVEL) {
        if (raw) raw(exchangeLine(ex));
        else ctx.log.info(exchangeFields(ex), 'exchange');
      }
      ctx.events.emit('exchange', ex);
    },
  };
}
