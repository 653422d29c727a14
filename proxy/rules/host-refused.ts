/**
 * `host-refused` (docs/platforms.md): a host the platform refuses even when it is listed: WeChat's
 * `api.weixin.qq.com` (its server API, which must never be called from the client), QQ's
 * `api.q.qq.com`, Baidu's `openapi.baidu.com` (docs/platforms.md). Checked for every
 * configured platform; the event names each one that refuses it.
 */
import type { ProxyContext } from '../context.js';
import type { Rule } from './types.js';

export function hostRefused(ctx: Pick<ProxyContext, 'config'>): Rule {
  const refusing = new Map<string, typeof ctx.config.platforms>();
  for (const p of ctx.config.platforms) {
    for (const host of p.refusedHosts) refusing.set(host, [...(refusing.get(host) ?? []), p]);
  }
  return {
    ids: ['host-refused'],
    // From the host alone: the pipeline asks it at the tunnel and for each request.
    checkHost: (host) => {
      const by = refusing.get(host);
      if (!by) return undefined;
      return {
        rule: 'host-refused', severity: 'error', platforms: by.map((p) => p.name),
        message: `${host} is refused by ${by.map((p) => p.title).join(', ')} even when listed`,
      };
    },
  };
}
