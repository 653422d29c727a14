/**
 * Config lint (SPEC §2): the backend's own rules for server domains, one named check each, run in
 * the order of the table below. Each returns problems; none throws.
 */
import net from 'node:net';
import { DOMAIN_LISTS, type DomainList, type MgproxyConfig, type Problem } from './schema.js';
import { MAX_TIMEOUT_MS } from './defaults.js';
import { isHostName, isLocalhostName, splitHostPort } from '../proxy/net-address.js';

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

/** The host an entry allows, or undefined when the entry is not usable (another check says why). */
export function entryHost(e: DomainEntry): string | undefined {
  const hp = splitHostPort(e.hostPort);
  if (!hp || hp.port !== undefined || e.path.replace(/\/$/, '') !== '') return undefined;
  if (hp.host.includes('*') || net.isIP(hp.host) || isLocalhostName(hp.host) || !isHostName(hp.host)) return undefined;
  return hp.host;
}

const pathOf = (e: DomainEntry) => `domains.${e.list}[${e.index}]`;
const error = (e: DomainEntry, id: string, message: string): Problem => ({ id, severity: 'error', path: pathOf(e), message });

type EntryCheck = (e: DomainEntry) => Problem | undefined;

/** request/uploadFile/downloadFile must be https, socket must be wss ("Domains must support the https … and wss protocol"). */
const configScheme: EntryCheck = (e) => {
  const want = e.list === 'socket' ? 'wss' : 'https';
  if (e.scheme === undefined || e.scheme === want) return undefined;
  return error(e, 'config-scheme', `${JSON.stringify(e.raw)} must use ${want}:// (domains.${e.list} takes ${want} only)`);
};

/** "Domains cannot use IP addresses or localhost." */
const configIpDomain: EntryCheck = (e) => {
  const hp = splitHostPort(e.hostPort);
  if (!hp || net.isIP(hp.host) === 0) return undefined;
  return error(e, 'config-ip-domain', `${JSON.stringify(e.raw)} is an IP address; configure a domain name`);
};

const configLocalhostDomain: EntryCheck = (e) => {
  const hp = splitHostPort(e.hostPort);
  if (!hp || !isLocalhostName(hp.host)) return undefined;
  return error(e, 'config-localhost-domain', `${JSON.stringify(e.raw)} is localhost; configure a public domain name`);
};

/** "Ports cannot be configured": the request URL may carry one, the domain entry may not. */
const configPortInDomain: EntryCheck = (e) => {
  const hp = splitHostPort(e.hostPort);
  if (!hp || hp.port === undefined) return undefined;
  return error(e, 'config-port-in-domain', `${JSON.stringify(e.raw)} has a port; remove ":${hp.port}" (every port of the domain is allowed)`);
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
  if (!hp || (net.isIP(hp.host) === 0 && !isHostName(hp.host))) {
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
];

/** `config-duplicate-domain` (warning): the same host twice in one list. */
function duplicateDomains(list: DomainList, entries: DomainEntry[]): Problem[] {
  const seen = new Map<string, number>();
  const out: Problem[] = [];
  for (const e of entries) {
    const host = entryHost(e);
    if (host === undefined) continue;
    const first = seen.get(host);
    if (first === undefined) seen.set(host, e.index);
    else out.push({ id: 'config-duplicate-domain', severity: 'warning', path: pathOf(e), message: `${host} is already listed at domains.${list}[${first}]` });
  }
  return out;
}

/** `config-timeout-above-max` (warning): the runtime caps every timeout at 60000 ms. */
export function timeoutAboveMax(path: string, value: number): Problem | undefined {
  if (value <= MAX_TIMEOUT_MS) return undefined;
  return { id: 'config-timeout-above-max', severity: 'warning', path, message: `${value} ms is above the maximum; ${MAX_TIMEOUT_MS} ms is used` };
}

/** Every lint problem of a config whose shape is valid. */
export function lintConfig(config: MgproxyConfig): Problem[] {
  const out: Problem[] = [];
  for (const list of DOMAIN_LISTS) {
    const entries = config.domains[list].map((raw, i) => parseDomainEntry(list, i, raw));
    for (const e of entries) {
      for (const check of ENTRY_CHECKS) {
        const p = check(e);
        if (p) out.push(p);
      }
    }
    out.push(...duplicateDomains(list, entries));
  }
  for (const [api, value] of Object.entries(config.networkTimeout)) {
    const p = timeoutAboveMax(`networkTimeout.${api}`, value as number);
    if (p) out.push(p);
  }
  return out;
}
