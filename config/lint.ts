/**
 * Config lint (docs/config.md, docs/platforms.md): the backend's own rules for server domains, one named check each, run
 * in the order of the table below, following the platform(s) of the config. Each returns problems;
 * none throws.
 */
import { type Api, DOMAIN_LISTS, type DomainList, type MgproxyConfig, type Problem } from './schema.js';
import { capFor, type Cap, type PlatformProfile } from './platforms.js';
import { isHostName, isLocalhostName, splitHostPort, ipFamily } from './net-address.js';

/** A domain entry taken apart: `https://Api.Example.com` → scheme `https`, host `api.example.com`. */
export interface DomainEntry {
  list: DomainList;
  index: number;
  raw: string;
  scheme?: string;
  hostPort: string;
  path: string;
}

export function parseDomainEntry(list: DomainList, index: number, raw: string): DomainEntry {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(raw.trim());
  const rest = m ? m[2]! : raw.trim();
  const slash = rest.indexOf('/');
  return {
    list, index, raw,
    scheme: m ? m[1]!.toLowerCase() : undefined,
    hostPort: slash >= 0 ? rest.slice(0, slash) : rest,
    path: slash >= 0 ? rest.slice(slash) : '',
  };
}

/**
 * The host an entry allows and its port (undefined: listed without one), or undefined when the
 * entry is not usable (another check says why). A port is refused by `config-port-in-domain` on
 * the platforms that forbid one; where the config passed, it is the exact port of docs/platforms.md.
 */
export function entryTarget(e: DomainEntry): { host: string; port?: number } | undefined {
  const hp = splitHostPort(e.hostPort);
  if (!hp || e.path.replace(/\/$/, '') !== '') return undefined;
  if (hp.host.includes('*') || ipFamily(hp.host) || isLocalhostName(hp.host) || !isHostName(hp.host)) return undefined;
  return hp;
}

const pathOf = (e: DomainEntry) => `domains.${e.list}[${e.index}]`;
const error = (e: DomainEntry, id: string, message: string): Problem => ({ id, severity: 'error', path: pathOf(e), message });

type EntryCheck = (e: DomainEntry, platforms: readonly PlatformProfile[]) => Problem | undefined;
const titles = (ps: readonly PlatformProfile[]) => ps.map((p) => p.title).join(', ');

/** request/uploadFile/downloadFile must be https, socket must be wss ("Domains must support the https … and wss protocol"). */
const configScheme: EntryCheck = (e) => {
  const want = e.list === 'socket' ? 'wss' : 'https';
  if (e.scheme === undefined || e.scheme === want) return undefined;
  return error(e, 'config-scheme', `${JSON.stringify(e.raw)} must use ${want}:// (domains.${e.list} takes ${want} only)`);
};

/** "Domains cannot use IP addresses or localhost." */
const configIpDomain: EntryCheck = (e) => {
  const hp = splitHostPort(e.hostPort);
  if (!hp || ipFamily(hp.host) === 0) return undefined;
  return error(e, 'config-ip-domain', `${JSON.stringify(e.raw)} is an IP address; configure a domain name`);
};

const configLocalhostDomain: EntryCheck = (e) => {
  const hp = splitHostPort(e.hostPort);
  if (!hp || !isLocalhostName(hp.host)) return undefined;
  return error(e, 'config-localhost-domain', `${JSON.stringify(e.raw)} is localhost; configure a public domain name`);
};

/**
 * TCSAS: "Ports cannot be configured": the request URL may carry one, the domain entry may not
 * (Douyin mini game the same; Baidu allows no port at all). Fine on *exact* platforms (WeChat, QQ,
 * Douyin mini program), where the URL must then carry that port. An error when the first platform
 * forbids it, a warning when only later ones do.
 */
const configPortInDomain: EntryCheck = (e, platforms) => {
  const hp = splitHostPort(e.hostPort);
  if (!hp || hp.port === undefined) return undefined;
  const against = platforms.filter((p) => p.ports !== 'exact');
  if (against.length === 0) return undefined;
  const why = against.map((p) => `${p.title}: ${p.ports === 'any' ? 'every port of the domain is allowed, none may be configured' : 'no port is allowed'}`).join('; ');
  const problem = error(e, 'config-port-in-domain', `${JSON.stringify(e.raw)} has a port; remove ":${hp.port}" (${why})`);
  return against[0] === platforms[0] ? problem : { ...problem, severity: 'warning' };
};

/** docs/platforms.md: a host the platform refuses even when listed (WeChat's api.weixin.qq.com); requests to it get `host-refused`. */
const configRefusedHost: EntryCheck = (e, platforms) => {
  const host = entryTarget(e)?.host;
  if (host === undefined) return undefined;
  const by = platforms.filter((p) => p.refusedHosts.includes(host));
  if (by.length === 0) return undefined;
  return { id: 'config-refused-host', severity: 'warning', path: pathOf(e), message: `${host} is refused by ${titles(by)} even when listed; requests to it get host-refused` };
};

/** "Parent domains are not supported; use subdomains." */
const configWildcardDomain: EntryCheck = (e) => {
  if (!e.hostPort.includes('*')) return undefined;
  return error(e, 'config-wildcard-domain', `${JSON.stringify(e.raw)} is a wildcard; list each subdomain (parent domains are not supported)`);
};

/** What is left: a path, an empty or malformed host, another scheme's syntax. */
const configShapeOfEntry: EntryCheck = (e) => {
  if (e.hostPort.includes('*')) return undefined;
  const hp = splitHostPort(e.hostPort);
  if (!hp || (ipFamily(hp.host) === 0 && !isHostName(hp.host))) {
    return error(e, 'config-schema', `${JSON.stringify(e.raw)} is not a domain name`);
  }
  if (e.path.replace(/\/$/, '') !== '') {
    return error(e, 'config-schema', `${JSON.stringify(e.raw)} has a path; a domain entry is scheme://host only`);
  }
  return undefined;
};

/** The lint table, in order. */
export const ENTRY_CHECKS: readonly EntryCheck[] = [
  configScheme, configIpDomain, configLocalhostDomain, configPortInDomain, configWildcardDomain, configShapeOfEntry,
  configRefusedHost,
];

/** `config-duplicate-domain` (warning): the same host twice in one list. */
function duplicateDomains(list: DomainList, entries: DomainEntry[]): Problem[] {
  const seen = new Map<string, number>();
  const out: Problem[] = [];
  for (const e of entries) {
    const target = entryTarget(e);
    if (target === undefined) continue;
    const host = target.port === undefined ? target.host : `${target.host}:${target.port}`;
    const first = seen.get(host);
    if (first === undefined) seen.set(host, e.index);
    else out.push({ id: 'config-duplicate-domain', severity: 'warning', path: pathOf(e), message: `${host} is already listed at domains.${list}[${first}]` });
  }
  return out;
}

/** The smallest maximum timeout of the platforms: what the proxy caps a timeout at. */
export const maxTimeoutOf = (platforms: readonly PlatformProfile[]) => Math.min(...platforms.map((p) => p.timeoutMaxMs));

/** `config-timeout-above-max` (warning): each runtime caps every timeout at its maximum (60000 ms on every platform). */
export function timeoutAboveMax(path: string, value: number, platforms: readonly PlatformProfile[]): Problem | undefined {
  const over = platforms.filter((p) => value > p.timeoutMaxMs);
  if (over.length === 0) return undefined;
  const max = maxTimeoutOf(platforms);
  return { id: 'config-timeout-above-max', severity: 'warning', path, message: `${value} ms is above the maximum of ${titles(over)}; ${max} ms is used` };
}

/** The caps a config file writes itself under `concurrency` (not the platform defaults). */
export type WrittenCaps = Partial<Record<'request' | 'uploadFile' | 'downloadFile' | 'socket' | 'http', number>>;

/** What each written cap counts: its API, or for `http` the HTTP APIs without a key of their own. */
function apisOfKey(key: keyof WrittenCaps, written: WrittenCaps): Api[] {
  if (key === 'socket') return ['connectSocket'];
  if (key !== 'http') return [key];
  return (['request', 'uploadFile', 'downloadFile'] as const).filter((api) => written[api] === undefined);
}

/**
 * `config-cap-above-max` (warning): a written `concurrency` cap above what a platform allows in
 * flight for its API (the largest of its caps for it; for `http`, of the APIs it covers): the
 * proxy lets through at once what the device would hold back.
 */
function capAboveMax(key: keyof WrittenCaps, written: WrittenCaps, platforms: readonly PlatformProfile[], capsOf: (p: PlatformProfile) => readonly Cap[]): Problem | undefined {
  const value = written[key];
  const apis = apisOfKey(key, written);
  if (value === undefined || apis.length === 0) return undefined;
  const over = platforms
    .map((p) => ({ p, max: Math.max(...apis.map((api) => capFor(capsOf(p), api))) }))
    .filter(({ max }) => value > max);
  if (over.length === 0) return undefined;
  const what = key === 'socket' ? 'sockets open' : `${apis.join('/')} in flight`;
  return {
    id: 'config-cap-above-max', severity: 'warning', path: `concurrency.${key}`,
    message: `${value} is above the cap of ${over.map(({ p, max }) => `${p.title} (${max} ${what})`).join(', ')}; the device holds back what this lets through`,
  };
}

/**
 * Every lint problem of a config whose shape is valid, for its platforms (first one first).
 * `written` holds the concurrency caps the file itself sets (not the platform defaults).
 */
export function lintConfig(
  config: MgproxyConfig, platforms: readonly PlatformProfile[], written: WrittenCaps = {},
): Problem[] {
  const capsOf = (p: PlatformProfile) => p.caps(config.device);
  const out: Problem[] = [];
  for (const list of DOMAIN_LISTS) {
    const entries = config.domains[list].map((raw, i) => parseDomainEntry(list, i, raw));
    for (const e of entries) {
      for (const check of ENTRY_CHECKS) {
        const p = check(e, platforms);
        if (p) out.push(p);
      }
    }
    out.push(...duplicateDomains(list, entries));
  }
  for (const [api, value] of Object.entries(config.networkTimeout)) {
    const p = timeoutAboveMax(`networkTimeout.${api}`, value as number, platforms);
    if (p) out.push(p);
  }
  for (const key of ['request', 'uploadFile', 'downloadFile', 'http', 'socket'] as const) {
    const p = capAboveMax(key, written, platforms, capsOf);
    if (p) out.push(p);
  }
  return out;
}
