/**
 * `ip-not-allowed` (docs/rules.md, docs/rules.md "IP classes"): domains cannot be IPs or localhost; the runtime
 * only lets a game reach non-local IPs "within the same local area network". The rule looks at the
 * URL's host, never at what a name resolves to.
 */
import type { ProxyContext } from '../context.js';
import { isLocalhostName, isLoopbackIp, isPrivateIp, ipFamily } from '../../config/net-address.js';
import type { Rule } from './types.js';

/** Why `host` cannot be reached by a game, or undefined when it can. */
function refusal(host: string, allowLan: boolean): string | undefined {
  if (isLocalhostName(host)) return `${host} is localhost`;
  if (ipFamily(host) === 0) return undefined;
  if (isLoopbackIp(host)) return `${host} is a loopback address`;
  if (isPrivateIp(host)) return allowLan ? undefined : `${host} is a LAN address and allowLanIps is false`;
  return `${host} is a public IP address; configure a domain name`;
}

export function ipNotAllowed(ctx: Pick<ProxyContext, 'config'>): Rule {
  const allowLan = ctx.config.allowLanIps;
  return {
    ids: ['ip-not-allowed'],
    // From the URL's host alone: the pipeline asks it at the tunnel and for each request.
    checkHost: (host) => {
      const why = refusal(host, allowLan);
      return why === undefined ? undefined : { rule: 'ip-not-allowed', severity: 'error', message: `${why} (mini games cannot reach it)` };
    },
  };
}
