/**
 * What every call of one runtime shares: the resolved settings, the HTTP dispatcher (through the
 * proxy when there is one), the trust, the timeouts, the background state and the calls it may
 * interrupt.
 */
import tls from 'node:tls';
import { Agent, type Dispatcher, interceptors, ProxyAgent } from 'undici';
import type { Device } from '../../config/platforms.js';
import type { ApiName } from './errors.js';
import { MAX_TIMEOUT_MS, type Settings } from './settings.js';
import type { Headers } from './types.js';

/** A call in flight or waiting for a slot: background mode interrupts it. */
export interface LiveCall { interrupt(): void }

export interface Core {
  device: Device;
  /** Settles before any call starts (the proxy's config may have to be read first). */
  ready: Promise<Settings>;
  dispatcher: Dispatcher;
  /** The proxy's URL, or undefined for direct connections. */
  proxy: URL | undefined;
  /** The certificates to trust; undefined: Node's default (the roots plus NODE_EXTRA_CA_CERTS). */
  ca: string[] | undefined;
  gameTimeouts: Partial<Record<ApiName, number>>;
  background: boolean;
  live: Set<LiveCall>;
}

/** Chromium's limit (a URLRequest follows at most 20 redirects); the platform states none. */
const MAX_REDIRECTS = 20;

export function makeDispatcher(proxy: URL | undefined, ca: string[] | undefined): Dispatcher {
  // The runtime's own timer decides timeouts (the call's, game.json's, 60 s): undici's are switched off.
  const common = { headersTimeout: 0, bodyTimeout: 0 };
  const requestTls = ca ? { ca } : undefined;
  const base = proxy
    ? new ProxyAgent({ uri: proxy.href, ...common, ...(requestTls ? { requestTls } : {}) })
    : new Agent({ ...common, ...(requestTls ? { connect: requestTls } : {}) });
  // Redirects are followed, as `redirect: 'follow'` (the default) does; each hop goes through the proxy and its rules.
  return base.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));
}

/** The custom CA list: the system roots plus the caller's PEMs (undefined when the caller gave none). */
export function trustOf(ca: string | string[] | undefined): string[] | undefined {
  if (ca === undefined) return undefined;
  return [...tls.rootCertificates, ...(Array.isArray(ca) ? ca : [ca])];
}

/** The call's `timeout`, else game.json's `networkTimeout`, else 60000; never above 60000. */
export function timeoutFor(core: Core, api: ApiName, own: unknown): number {
  const chosen = typeof own === 'number' && own > 0 ? own : core.gameTimeouts[api] ?? MAX_TIMEOUT_MS;
  return Math.min(chosen, MAX_TIMEOUT_MS);
}

/**
 * The headers sent: the caller's (values as strings), less any Referer, which a game cannot set
 * ("header 中不能设置 Referer",
 * https://developers.weixin.qq.com/minigame/dev/api/network/request/wx.request.html), plus the
 * platform's Referer (https://developers.weixin.qq.com/minigame/dev/guide/base-ability/network.html).
 */
export function outgoingHeaders(settings: Settings, header: Headers | undefined, extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(header ?? {})) {
    if (k.toLowerCase() === 'referer' || v === undefined || v === null) continue;
    out[k] = String(v);
  }
  for (const [k, v] of Object.entries(extra)) if (!Object.keys(out).some((o) => o.toLowerCase() === k)) out[k] = v;
  if (settings.referer !== null) out.Referer = settings.referer;
  return out;
}

/** `res.header`: names as the answer wrote them; a repeated name's values joined with ", " (RFC 9110 §5.3). */
export function headerObject(raw: readonly (Buffer | string)[] | null | undefined): { header: Headers; cookies: string[] } {
  const header: Headers = {};
  const cookies: string[] = [];
  if (!raw) return { header, cookies };
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const value = raw[i + 1]!.toString('utf8');
    if (name.toLowerCase() === 'set-cookie') cookies.push(value);
    header[name] = name in header ? `${header[name]}, ${value}` : value;
  }
  return { header, cookies };
}
