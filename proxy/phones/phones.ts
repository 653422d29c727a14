/**
 * What a phone needs to reach the proxy (docs/commands.md, docs/rules.md "`--host 0.0.0.0`"): for each LAN address,
 * the proxy address to type into the Wi-Fi settings, the PAC URL and the onboarding URL, and the
 * block `mgproxy start` prints with a QR code of the onboarding page.
 */
import os from 'node:os';
import { formatHost, isLoopbackIp, normalizeIp, parseCidr, ipFamily } from '../../config/net-address.js';
import { qrTerminal } from './qr.js';

/** The host name the proxy answers onboarding requests for (docs/dashboard.md). */
export const ONBOARDING_HOST = 'mgproxy.local';

/** RFC 1918 only: the ranges a phone on the same Wi-Fi is addressed from (docs/rules.md). */
const RFC1918 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((c) => parseCidr(c)!);

export interface PhoneSetup {
  /** The interface the address belongs to (`wlan0`, `en0`), for telling several apart. */
  interface: string;
  address: string;
  port: number;
  /** `ADDR:PORT`, what the phone's manual proxy settings take. */
  proxy: string;
  /** `http://ADDR:PORT/proxy.pac` */
  pac: string;
  /** `http://ADDR:PORT/`, the onboarding page opened without a proxy (what the QR code holds). */
  onboarding: string;
}

type Interfaces = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

export const isWildcardHost = (host: string) => host === '0.0.0.0' || host === '::';

/**
 * The addresses phones can use: with a wildcard `--host`, every RFC 1918 IPv4 address of the
 * non-internal interfaces; with a specific non-loopback `--host`, that one; none on loopback.
 */
export function lanAddresses(host: string, interfaces: Interfaces = os.networkInterfaces()): { interface: string; address: string }[] {
  if (!isWildcardHost(host)) {
    const ip = normalizeIp(host);
    if (ipFamily(ip) === 0 || isLoopbackIp(ip)) return [];
    const owner = Object.entries(interfaces).find(([, list]) => list?.some((a) => normalizeIp(a.address) === ip));
    return [{ interface: owner?.[0] ?? '', address: ip }];
  }
  const out: { interface: string; address: string }[] = [];
  for (const [name, list] of Object.entries(interfaces)) {
    for (const a of list ?? []) {
      if (a.internal || a.family !== 'IPv4' || !RFC1918.some((c) => c.contains(a.address))) continue;
      if (!out.some((o) => o.address === a.address)) out.push({ interface: name, address: a.address });
    }
  }
  return out;
}

export function phoneSetup(address: string, port: number, iface = ''): PhoneSetup {
  const base = `http://${formatHost(address)}:${port}`;
  return { interface: iface, address, port, proxy: `${formatHost(address)}:${port}`, pac: `${base}/proxy.pac`, onboarding: `${base}/` };
}

export function phoneSetups(host: string, port: number, interfaces?: Interfaces): PhoneSetup[] {
  return lanAddresses(host, interfaces).map((a) => phoneSetup(a.address, port, a.interface));
}

/**
 * The block `mgproxy start` prints for phones: each address with its proxy setting, PAC URL and
 * onboarding URLs, and a QR code that opens the onboarding page. `ansi`: the output is a terminal.
 */
export function formatPhoneBlock(setups: readonly PhoneSetup[], opts: { adminUrl: string; ansi: boolean }): string {
  if (setups.length === 0) {
    return '\nPhones: this machine has no private (RFC 1918) IPv4 address on a network interface. Connect it to the\n'
      + 'phones\' Wi-Fi, or give the address phones can reach with --host ADDR.\n';
  }
  const parts = ['', `Phones: set the Wi-Fi proxy to one of these addresses (dashboard: ${opts.adminUrl}/)`];
  for (const s of setups) {
    parts.push(
      '',
      `  ${s.address}${s.interface ? `  (${s.interface})` : ''}`,
      `    Wi-Fi proxy   manual: server ${s.address}, port ${s.port}`,
      `    PAC URL       ${s.pac}`,
      `    onboarding    http://${ONBOARDING_HOST}/ through the proxy http://${s.proxy}`,
      `                  ${s.onboarding} without a proxy: scan this QR code`,
      '',
      qrTerminal(s.onboarding, opts.ansi).trimEnd(),
    );
  }
  return `${parts.join('\n')}\n`;
}
