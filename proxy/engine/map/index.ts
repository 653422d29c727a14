/**
 * The map rules' one entry point (docs/toolkit.md "Map rules"): the forwarder calls `mapExchange`
 * on every admitted HTTP exchange, after the rules and the network condition's request stage, in
 * place of choosing its upstream. It returns
 *   - undefined: no rule matches; forward to the game's own upstream;
 *   - a route (`remote`): forward there instead (path and Host rewritten; verified as any upstream);
 *   - 'answered' (`local`, `respond`): the proxy answers from disk or from the rule.
 * The exchange's `mapped` says which, for its events, exchange line and HAR entry; its `url` stays the game's.
 */
import type { ProxyContext } from '../../context.js';
import type { Exchange } from '../../flow/exchange.js';
import { drainUpload } from './answer.js';
import { serveLocal } from './local.js';
import { remoteRoute, type UpstreamRoute } from './remote.js';
import { serveRespond } from './respond.js';

export type { UpstreamRoute } from './remote.js';

export function mapExchange(ctx: ProxyContext, ex: Exchange): UpstreamRoute | 'answered' | undefined {
  const hit = ctx.map.match(ex.url);
  if (!hit) return undefined;
  const { rule, tail } = hit;
  const { entry } = rule;
  if (entry.remote !== undefined) {
    const route = remoteRoute(entry.remote + tail);
    ex.mapped = { type: 'remote', to: route.url };
    ex.upstreamHeaders.host = route.hostHeader;
    return route;
  }
  drainUpload(ex);
  const fail = (err: Error) => {
    ctx.log.error({ id: ex.id, error: { message: err.message, stack: err.stack } }, 'map rule failed');
    if (ex.answerable) ex.cut('error');
  };
  if (entry.local !== undefined) {
    ex.mapped = { type: 'local', to: rule.file! };
    serveLocal(ctx, ex, rule.file!, tail).catch(fail);
  } else {
    ex.mapped = { type: 'respond', to: 'respond' };
    serveRespond(ctx, ex, entry.respond!, rule.file).catch(fail);
  }
  return 'answered';
}
