/**
 * The upstream proxy (docs/upstream-proxy.md): `upstream.proxy` / `--upstream-proxy`, an HTTP
 * proxy reached with CONNECT, and `upstream.noProxy`, the hosts that go direct. Pure parsing and
 * matching; the connection itself is proxy/engine/upstream/chain.ts.
 *
 * The credentials live in `authorization` only: `url` is what may be printed (no user, no
 * password), and every message about a bad value shows the value with its credentials masked.
 */
import { formatHost, isHostName, normalizeHost, parsePort, ipFamily } from './net-address.js';

export interface UpstreamProxy {
  host: string;
  port: number;
  /** `Basic base64(user:pass)` (RFC 7617) when the URL carries credentials. Never printed. */
  authorization?: string;
  /** `http://host:port`: the only form that logs, errors and reports show. */
  url: string;
}

/** `http://user:pass@host` → `http://***@host`: what a message about a bad value may quote. */
export function maskCredentials(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i, (_all, scheme: string | undefined) => `${scheme ?? ''}***@`);
}

/** `http://[user:pass@]host[:port]` (port 80 when left out) → the proxy, or why not (credentials masked). */
export function parseUpstreamProxy(text: string): UpstreamProxy | { error: string } {
  const shown = JSON.stringify(maskCredentials(text));
  const bad = (why: string) => ({ error: `must be http://[user:pass@]host:port (${why}), got ${shown}` });
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return bad('not a URL');
  }
  if (u.protocol !== 'http:') return bad(`the scheme must be http, the proxy is reached with CONNECT`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '') return bad('no path, query or fragment');
  const host = normalizeHost(u.hostname);
  if (!isHostName(host) && ipFamily(host) === 0) return bad('a host name or IP address');
  const port = u.port === '' ? 80 : parsePort(u.port);
  if (port === undefined) return bad('a port from 1 to 65535');
  let authorization: string | undefined;
  if (u.username !== '' || u.password !== '') {
    let user: string;
    let pass: string;
    try {
      user = decodeURIComponent(u.username);
      pass = decodeURIComponent(u.password);
    } catch {
      return bad('credentials must be percent-encoded UTF-8');
    }
    authorization = `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;
  }
  return { host, port, authorization, url: `http://${formatHost(host)}:${port}` };
}

/** `upstream.noProxy` compiled: exact hosts and IPs, `*.suffix` / `.suffix` suffixes, or `*` for every host. */
export interface NoProxy { all: boolean; exact: ReadonlySet<string>; suffixes: readonly string[] }

export const NO_PROXY_NONE: NoProxy = { all: false, exact: new Set(), suffixes: [] };

/** Compiles the patterns; `problems` gets `[index, why]` for each one that is neither a host pattern nor an IP literal. */
export function compileNoProxy(patterns: readonly string[], problems: [number, string][] = []): NoProxy {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  let all = false;
  patterns.forEach((pattern, i) => {
    const text = pattern.trim();
    if (text === '*') { all = true; return; }
    const wildcard = text.startsWith('*.') ? 2 : text.startsWith('.') ? 1 : 0;
    const host = normalizeHost(text.slice(wildcard));
    if (ipFamily(host) !== 0 && wildcard === 0) exact.add(host);
    else if (isHostName(host)) (wildcard ? suffixes.push(`.${host}`) : exact.add(host));
    else problems.push([i, `${JSON.stringify(pattern)} must be a host, "*.domain", ".domain", an IP address or "*"`]);
  });
  return { all, exact, suffixes };
}

/** True when `host` (normalised) goes direct. `*.example.com` and `.example.com` match its subdomains, not itself. */
export function bypassesProxy(noProxy: NoProxy, host: string): boolean {
  return noProxy.all || noProxy.exact.has(host) || noProxy.suffixes.some((s) => host.endsWith(s));
}
