/**
 * The environment every Exchange of this proxy gets (proxy/flow/exchange.ts `ExchangeEnv`): the
 * services it reaches, narrowed to what it does with them. The exchange calls no rule: its end
 * reaches the pipeline's `onEnd` through `ended`, once.
 */
import type { ProxyContext } from '../context.js';
import type { Exchange, ExchangeEnv } from '../flow/exchange.js';
import { onEnd } from '../rules/pipeline.js';

export function exchangeEnv(ctx: ProxyContext): ExchangeEnv {
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
      const clientName = ex.clientName;
      ctx.log.info({
        id: ex.id, client: ex.client, ...(clientName === undefined ? {} : { clientName }), api: ex.api, method: ex.method, url: ex.url,
        status: ex.status ?? null, bytesIn: ex.bytesIn, bytesOut: ex.bytesOut,
        durationMs: Math.round(ex.durationMs! * 10) / 10, outcome: ex.outcome, network: ex.network?.name, protocol: ex.protocol, upstreamAlpn: ex.upstreamAlpn,
        mapped: ex.mapped,
      }, 'exchange');
      ctx.events.emit('exchange', ex);
    },
  };
}
