/**
 * Host names, IP literals and address classes, shared by the config lint, CONNECT validation,
 * the `ip-not-allowed` rule and LAN mode. Pure functions, no I/O.
 */
import net from 'node:net';

/**
 * `net.isIP` and `net.isIPv6`, without running Node's IPv6 expression on text that has no colon,
 * which no IPv6 literal lacks. V8 compiles that large expression on its first use, 15-25 ms on a
 * small machine: a host name or an IPv4 address never pays for it, nor does a start
 * (docs/startup.md).
 */
export function ipFamily(text: string): 0 | 4 | 6 {
  if (!text.includes(':')) return net.isIPv4(text) ? 4 : 0;
  return net.isIPv6(text) ? 6 : 0;
}

export function isIpv6(text: string): boolean {
  return text.includes(':') && net.isIPv6(text);
}

/** `::ffff:10.0.0.1` → `10.0.0.1`; lower-cases IPv6. Socket addresses come in both forms. */
export function normalizeIp(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && net.isIPv4(lower.slice(7)) ? lower.slice(7) : lower;
}

/** Lower-case, no trailing dot, no IPv6 brackets: the one form of a host used as a key everywhere. */
export function normalizeHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.') && !ipFamily(h)) h = h.slice(0, -1);
  return ipFamily(h) ? normalizeIp(h) : h;
}

/** RFC 1123 host name: labels of letters, digits and inner hyphens (and `_`, which real DNS carries). */
const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/i;

export function isHostName(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  return host.split('.').every((label) => LABEL.test(label));
}

/** A host that may appear in a CONNECT target or URL: a host name or an IP literal. */
export function isValidHost(host: string): boolean {
  return ipFamily(host) !== 0 || isHostName(host);
}

/** `443`, not `0443`, `+443`, `0` or `70000`. */
export function parsePort(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,4}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

/**
 * Splits `host:port`, `[v6]:port`, `host` or `[v6]` (port optional). Returns undefined for anything
 * malformed: an unclosed bracket, an empty host, a bad port.
 */
export function splitHostPort(text: string): { host: string; port?: number } | undefined {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return undefined;
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return undefined;
      portText = rest.slice(1);
    }
    if (isIpv6(host) === false) return undefined;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0 && text.indexOf(':') !== colon) {
      // bare IPv6 without brackets: no port can be told apart
      return isIpv6(text) ? { host: normalizeHost(text) } : undefined;
    }
    host = colon >= 0 ? text.slice(0, colon) : text;
    portText = colon >= 0 ? text.slice(colon + 1) : undefined;
  }
  if (host === '') return undefined;
  if (portText === undefined) return { host: normalizeHost(host) };
  const port = parsePort(portText);
  return port === undefined ? undefined : { host: normalizeHost(host), port };
}

/** `host` with brackets for IPv6, for URLs and `host:port` strings. */
export function formatHost(host: string): string {
  // A name or an IPv4 address has no colon: the IPv6 parse is skipped for them (every exchange's URL).
  return isIpv6(host) ? `[${host}]` : host;
}

/** A CIDR block, compiled once; `contains` takes any IP string. */
export interface Cidr { text: string; contains(ip: string): boolean }

export function parseCidr(text: string): Cidr | undefined {
  const [addr, bitsText, extra] = text.trim().split('/');
  if (extra !== undefined || addr === undefined) return undefined;
  const family = ipFamily(addr);
  if (family === 0) return undefined;
  const maxBits = family === 4 ? 32 : 128;
  const bits = bitsText === undefined ? maxBits : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > maxBits || (bitsText !== undefined && !/^[0-9]+$/.test(bitsText))) return undefined;
  return cidr(text.trim(), addr, bits, family);
}

/** A block already known to be valid. */
function cidr(text: string, addr: string, bits: number, family: 4 | 6): Cidr {
  // Built at the first check: Node's BlockList costs ~5 ms to load, which a start need not pay.
  let list: net.BlockList | undefined;
  return {
    text,
    contains: (ip) => {
      const n = normalizeIp(ip);
      const f = ipFamily(n);
      if (f === 0) return false;
      if (!list) {
        list = new net.BlockList();
        list.addSubnet(normalizeIp(addr), bits, family === 4 ? 'ipv4' : 'ipv6');
      }
      return list.check(n, f === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

// Written out, not parsed: parsing the IPv6 ones at start would compile the IPv6 expression (ipFamily).
const LOOPBACK = [cidr('127.0.0.0/8', '127.0.0.0', 8, 4), cidr('::1/128', '::1', 128, 6)];
/** docs/rules.md (`ip-not-allowed`): the private ranges a mini game may reach when `allowLanIps`. */
export const PRIVATE_RANGES: readonly Cidr[] = [
  cidr('10.0.0.0/8', '10.0.0.0', 8, 4), cidr('172.16.0.0/12', '172.16.0.0', 12, 4), cidr('192.168.0.0/16', '192.168.0.0', 16, 4),
  cidr('169.254.0.0/16', '169.254.0.0', 16, 4), cidr('fc00::/7', 'fc00::', 7, 6), cidr('fe80::/10', 'fe80::', 10, 6),
];

export function isLoopbackIp(ip: string): boolean {
  return LOOPBACK.some((c) => c.contains(ip));
}

export function isPrivateIp(ip: string): boolean {
  return PRIVATE_RANGES.some((c) => c.contains(ip));
}

/** `localhost` and its subdomains (RFC 6761 reserves them for loopback). */
export function isLocalhostName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}
