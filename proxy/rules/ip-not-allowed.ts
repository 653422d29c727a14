/**
 * `ip-not-allowed` (SPEC §4, §10 "IP classes"): domains cannot be IPs or localhost; the runtime
 * only lets a game reach non-local IPs "within the same local area network". The rule looks at the
 * URL's host, never at what a name resolves to.
 */
import net from 'node:net';
import type { ProxyContext } from '../context.js';
import { isLocalhostName, isLoopbackIp, isPrivateIp } from '../net-address.js';
import type { Rule } from './types.js';

export function ipNotAllowed(ctx: Pick<ProxyContext, 'config'>): Rule {
  const allowLan = ctx.config.allowLanIps;
  return {
    ids: ['ip-not-allowed'],
    onRequest: (ex) => {
      const host = ex.host;
      let why: string | undefined;
      if (isLocalhostName(host)) why = `${host} is localhost`;
      else if (net.isIP(host) === 0) return undefined;
      else if (isLoopbackIp(host)) why = `${host} is a loopback address`;
      else if (isPrivateIp(host)) why = allowLan ? undefined : `${host} is a LAN address and allowLanIps is false`;
      else why = `${host} is a public IP address; configure a domain name`;
      return why === undefined ? undefined : { rule: 'ip-not-allowed', severity: 'error', message: `${why} (mini games cannot reach it)` };
    },
  };
}
