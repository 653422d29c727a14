/**
 * LAN mode (docs/dashboard.md, docs/rules.md "LAN mode", "Blocking happens inside the tunnel"): which clients may use
 * the proxy. Loopback always; then the private ranges, or exactly the `--allow-clients` blocks
 * when given (they replace the private ranges), like mitmproxy's `block_global`. A refused client
 * gets 403 to its CONNECT or plain request, with a body naming its address and `--allow-clients`;
 * it never gets a tunnel. Decided on the socket's own remote address, never on a header.
 */
import type { Logger } from 'pino';
import { type Cidr, isLoopbackIp, normalizeIp, parseCidr, PRIVATE_RANGES } from '../../config/net-address.js';

/** Refusals logged at `warn` once per address (then `debug`), so a scanner cannot flood the log. */
const MAX_WARNED_ADDRESSES = 10_000;

export class ClientAccess {
  private readonly allowed: readonly Cidr[];
  private readonly warned = new Set<string>();

  /** `allowClients`: the `--allow-clients` blocks, or undefined for the private ranges. */
  constructor(readonly allowClients?: readonly Cidr[]) {
    this.allowed = allowClients ?? PRIVATE_RANGES;
  }

  /** `address` as a socket reports it (`::ffff:10.0.0.1` included). */
  allows(address: string): boolean {
    const ip = normalizeIp(address);
    return isLoopbackIp(ip) || this.allowed.some((c) => c.contains(ip));
  }

  /** The 403 body: who was refused, why, and the flag that changes it. */
  refusal(address: string): string {
    const ip = normalizeIp(address) || 'an unknown address';
    const cidr = ip.includes(':') ? `${ip}/128` : `${ip}/32`;
    const now = this.allowClients
      ? `it accepts loopback and --allow-clients ${this.allowClients.map((c) => c.text).join(',')} only`
      : `it accepts loopback and private-network clients only (${PRIVATE_RANGES.map((c) => c.text).join(', ')})`;
    return `mgproxy refused this client: ${ip} may not use this proxy; ${now}.\n`
      + `To allow it, restart mgproxy with --allow-clients ${cidr} (or a wider CIDR; the list replaces the private ranges, loopback stays allowed).\n`;
  }

  /** One log line per refusal: `warn` the first time an address is refused, `debug` after. */
  logRefusal(log: Logger, address: string, request: string): void {
    const client = normalizeIp(address);
    const fields = { client, request, allowClients: this.allowed.map((c) => c.text) };
    if (!this.warned.has(client) && this.warned.size < MAX_WARNED_ADDRESSES) {
      this.warned.add(client);
      log.warn(fields, 'client refused (LAN mode): its address is not allowed; see --allow-clients');
    } else {
      log.debug(fields, 'client refused (LAN mode): its address is not allowed; see --allow-clients');
    }
  }
}

/** `--allow-clients CIDR[,CIDR…]`: a bare address is one host (/32 or /128). Undefined and the bad entries when any is malformed. */
export function parseAllowClients(text: string): { cidrs?: Cidr[]; bad: string[] } {
  const parts = text.split(',').map((p) => p.trim());
  const cidrs: Cidr[] = [];
  const bad: string[] = [];
  for (const part of parts) {
    const cidr = part === '' ? undefined : parseCidr(part);
    if (cidr) cidrs.push(cidr);
    else bad.push(part);
  }
  return bad.length > 0 || cidrs.length === 0 ? { bad: bad.length > 0 ? bad : [text] } : { cidrs, bad };
}
