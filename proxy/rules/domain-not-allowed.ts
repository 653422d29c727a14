/**
 * `domain-not-allowed` (docs/architecture.md step 3, docs/rules.md): the host must be in the configured list of an API
 * the request can be. A GET can be request or downloadFile; a multipart body is uploadFile and only
 * the uploadFile list admits it (docs/rules.md "the API decides the list": the runtime's wx.uploadFile
 * checks that list, and a forgotten upload domain is the mistake teams ship most); a WebSocket is
 * only connectSocket. IP literals and localhost are `ip-not-allowed`'s.
 */
import type { ProxyContext } from '../context.js';
import { DOMAIN_LISTS, LIST_OF_API, type DomainList } from '../../config/schema.js';
import type { Exchange } from '../flow/exchange.js';
import { isLocalhostName, ipFamily } from '../../config/net-address.js';
import type { Finding, Rule } from './types.js';

/** The lists a request may be allowed by, its own API's first. */
export function candidateLists(ex: Exchange): readonly DomainList[] {
  switch (ex.api) {
    case 'connectSocket': return ['socket'];
    case 'uploadFile': return ['uploadFile'];
    case 'downloadFile': return ['downloadFile', 'request'];
    default: return ex.method === 'GET' ? ['request', 'downloadFile'] : ['request'];
  }
}

export function domainNotAllowed(ctx: Pick<ProxyContext, 'config'>): Rule {
  const allowed = ctx.config.allowed;
  /** One check for both hooks: a name host in none of `lists` (IP literals and localhost are ip-not-allowed's). */
  const unlisted = (host: string, lists: readonly DomainList[], where: string): Finding | undefined => (
    ipFamily(host) !== 0 || isLocalhostName(host) || lists.some((list) => allowed[list].has(host))
      ? undefined
      : { rule: 'domain-not-allowed', severity: 'error', message: `${host} is not in ${where}` });
  return {
    ids: ['domain-not-allowed'],
    // At the tunnel the API is not known yet: a host in no list at all.
    checkHost: (host) => unlisted(host, DOMAIN_LISTS, 'any of the domains lists'),
    onRequest: (ex) => unlisted(ex.host, candidateLists(ex), `domains.${LIST_OF_API[ex.api]}`),
  };
}
