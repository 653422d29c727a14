/**
 * `port-not-allowed` (docs/platforms.md): the URL's port breaks a platform's port rule. *any* (TCSAS, Douyin
 * mini game, TapTap): every port of a listed host; *exact* (WeChat, QQ, Douyin mini program): a
 * domain listed without a port allows no explicit port, not even `:443`, and one listed with a port
 * allows only that port; *none* (Baidu): no explicit port. An explicit port is one the client wrote
 * in the absolute-form URL or the Host header: a CONNECT to :443 followed by `Host: api.example.test`
 * has none. Hosts in no list are `domain-not-allowed`'s, IP targets `ip-not-allowed`'s.
 */
import type { ProxyContext } from '../context.js';
import type { PlatformProfile } from '../../config/platforms.js';
import type { Exchange } from '../flow/exchange.js';
import { splitHostPort, ipFamily } from '../../config/net-address.js';
import { candidateLists } from './domain-not-allowed.js';
import type { Rule } from './types.js';

const AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i;

/** The port the client wrote, or undefined when it wrote none. */
export function explicitPort(ex: Exchange): number | undefined {
  const absolute = AUTHORITY.exec(ex.req.url ?? '');
  // An h2 request names its origin in `:authority` (docs/http2.md); `host` only when the client adds one.
  const authority = absolute ? absolute[1]!.replace(/^[^@]*@/, '') : ex.req.headers.host ?? (ex.req.headers as Record<string, string | string[] | undefined>)[':authority'] as string | undefined;
  return authority === undefined ? undefined : splitHostPort(authority)?.port;
}

export function portNotAllowed(ctx: Pick<ProxyContext, 'config'>): Rule {
  const { listedPorts, platforms } = ctx.config;
  const checked = platforms.filter((p) => p.ports !== 'any');

  /** Why `p` refuses the exchange's port, or undefined when it allows it. */
  const refusal = (p: PlatformProfile, ex: Exchange, port: number | undefined): string | undefined => {
    if (p.ports === 'none') return port === undefined ? undefined : `${p.title} allows no port in a URL (:${port})`;
    const lists = candidateLists(ex).filter((list) => listedPorts[list].has(ex.host));
    if (lists.some((list) => listedPorts[list].get(ex.host)!.has(port))) return undefined;
    const listed = [...listedPorts[lists[0]!].get(ex.host)!].map((x) => (x === undefined ? ex.host : `${ex.host}:${x}`)).join(', ');
    return port === undefined
      ? `${p.title} takes the port exactly: domains.${lists[0]} lists ${listed}, the URL has no port`
      : `${p.title} takes the port exactly: domains.${lists[0]} lists ${listed}, not :${port}`;
  };

  return {
    ids: ['port-not-allowed'],
    onRequest: (ex) => {
      if (checked.length === 0 || ipFamily(ex.host) !== 0) return undefined;
      if (!candidateLists(ex).some((list) => listedPorts[list].has(ex.host))) return undefined;
      const port = explicitPort(ex);
      const refused = checked.map((p) => ({ p, why: refusal(p, ex, port) })).filter((r) => r.why !== undefined);
      if (refused.length === 0) return undefined;
      return {
        rule: 'port-not-allowed', severity: 'error', platforms: refused.map((r) => r.p.name),
        message: refused.map((r) => r.why).join('; '),
      };
    },
  };
}
