/**
 * The guard that stops the proxy forwarding to itself (docs/architecture.md): a route to one of its
 * own listening sockets, named by an IP literal or by a name that resolves to one, is refused.
 */
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import os from 'node:os';
import { isLoopbackIp, normalizeIp, ipFamily } from '../../../config/net-address.js';

export class LoopError extends Error {
  readonly code = 'ELOOP_MGPROXY';
  constructor(host: string, port: number) {
    super(`${host}:${port} is mgproxy itself; refusing to forward to it`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

export class LoopGuard {
  /** The proxy's own ports (proxy and admin), filled in once they listen. */
  readonly ownPorts = new Set<number>();
  private readonly localAddresses = new Set(['0.0.0.0', '::']);

  constructor() {
    for (const list of Object.values(os.networkInterfaces())) {
      for (const a of list ?? []) this.localAddresses.add(normalizeIp(a.address));
    }
  }

  /** True when `address:port` is one of the proxy's own listening sockets. */
  isSelf(address: string, port: number): boolean {
    if (!this.ownPorts.has(port)) return false;
    const ip = normalizeIp(address);
    return isLoopbackIp(ip) || this.localAddresses.has(ip);
  }

  /** The loop error for a route to an IP literal; names are checked when they resolve. */
  check(route: { host: string; port: number }): LoopError | undefined {
    return ipFamily(route.host) && this.isSelf(route.host, route.port) ? new LoopError(route.host, route.port) : undefined;
  }

  /** dns.lookup, refusing addresses that are the proxy itself. Handles `all: true` (Node 20's autoSelectFamily). */
  lookup(port: number) {
    return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
      dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) { callback(err, ''); return; }
        if (addresses.some((a) => this.isSelf(a.address, port))) { callback(new LoopError(hostname, port), ''); return; }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
  }
}
