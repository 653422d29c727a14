/**
 * `remote` map rules (docs/toolkit.md): the rule's base URL with what the pattern's last `*`
 * matched appended is where the exchange goes. The path is taken as written (no `..` folding,
 * which would change what the upstream is asked), the Host is the new host's.
 */
import { formatHost, normalizeHost } from '../../../config/net-address.js';

/** Where a forwarded exchange goes: the game's own target (an Exchange has these fields), or a remote map rule's. */
export interface UpstreamRoute {
  scheme: 'https' | 'http';
  host: string;
  port: number;
  /** Origin-form: path and query. */
  path: string;
  hostHeader: string;
  /** The URL requested, as the exchange's `mapped.to` shows it. */
  url: string;
}

export function remoteRoute(target: string): UpstreamRoute {
  // validateMap accepted the base, so `target` parses; its path is read raw from the string.
  const parsed = new URL(target);
  const scheme = parsed.protocol === 'https:' ? 'https' : 'http';
  const host = normalizeHost(parsed.hostname.replace(/^\[(.*)\]$/, '$1'));
  const port = parsed.port ? Number(parsed.port) : scheme === 'https' ? 443 : 80;
  const rest = /^[a-z]+:\/\/[^/?#]*([^#]*)/is.exec(target)?.[1] ?? '';
  const path = rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest;
  const hostHeader = `${formatHost(host)}${parsed.port ? `:${port}` : ''}`;
  return { scheme, host, port, path, hostHeader, url: `${scheme}://${hostHeader}${path}` };
}
