/**
 * The usual test world: a test PKI, one HTTPS+WSS upstream that answers for the given fake
 * domains (mapped with `upstream.hosts`, trusted through `extraCaFiles`), and a proxy in front.
 */
import { TestPki } from './pki.js';
import { type ProxyProcess, startProxy, type StartOptions } from './proxy.js';
import { startUpstream, type Upstream } from './upstreams.js';
import { type RequestOptions, type Reply, viaProxy } from './clients.js';
import { pollUntil } from './poll.js';

export interface World {
  pki: TestPki;
  upstream: Upstream;
  proxy: ProxyProcess;
  /** GET (or opts.method) https://HOST/path through the proxy with Node's https. */
  fetch(url: string, opts?: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

/** The platforms' refused hosts (docs/platforms.md) are among them: mapped to the loopback upstream like the rest, never contacted for real. */
export const HOSTS = ['api.example.test', 'upload.example.test', 'cdn.example.test', 'ws.example.test', 'evil.example.test', 'x.passthrough.test', 'api.weixin.qq.com', 'api.q.qq.com', 'openapi.baidu.com'];
/**
 * IP targets the rule tests use. They are mapped to the loopback upstream with `upstream.hosts`,
 * so nothing is ever sent to them: 192.168.50.5 stands for a LAN address, 203.0.113.5 (TEST-NET-3) for a public one.
 */
export const LAN_IP = '192.168.50.5';
export const PUBLIC_IP = '203.0.113.5';

/** The config most tests start from: every test domain allowed in its list, routed to the upstream. */
export function baseConfig(upstreamAddress: string, rootFile: string, extra: Record<string, unknown> = {}) {
  return {
    appid: 'wx0123456789abcdef',
    version: '0',
    domains: {
      request: ['https://api.example.test'],
      uploadFile: ['https://upload.example.test'],
      downloadFile: ['https://cdn.example.test'],
      socket: ['wss://ws.example.test'],
    },
    upstream: { hosts: Object.fromEntries([...HOSTS, LAN_IP, PUBLIC_IP].map((h) => [h, upstreamAddress])), extraCaFiles: [rootFile] },
    ...extra,
  };
}

/** The admin API of a proxy: JSON in, status and JSON out. */
export async function admin(proxy: ProxyProcess, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${proxy.adminUrl}${path}`, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, json };
}

export async function startWorld(opts: { config?: (upstreamAddress: string, rootFile: string) => object; proxy?: Omit<StartOptions, 'config'> } = {}): Promise<World> {
  const pki = new TestPki();
  const leaf = pki.leaf({ names: [...HOSTS, LAN_IP, PUBLIC_IP, '127.0.0.1'] });
  const upstream = await startUpstream({ cert: pki.chain(leaf), key: leaf.keyPem });
  const config = (opts.config ?? baseConfig)(upstream.address, pki.rootFile);
  const proxy = await startProxy({ ...opts.proxy, config });
  return {
    pki, upstream, proxy,
    fetch: (url, o) => viaProxy(proxy.url, proxy.caPem, url, o),
    close: async () => {
      await proxy.stop();
      await upstream.close();
      pki.cleanup();
    },
  };
}

/**
 * Holds `urls` at the upstream: each requested at once on its own tunnel, resolved once the upstream
 * has seen them all (they are then in flight: their handlers answer late, `/slow?ms=N`, `/drip`,
 * `?hang=1`). The replies are settled at once: one still pending when the test stops the proxy
 * ends in an Error instead of an unhandled rejection.
 */
export async function holdAtUpstream(w: World, urls: string[], ms = 10_000): Promise<Promise<Reply | Error>[]> {
  const seen = w.upstream.seen.length;
  const replies = urls.map((u) => w.fetch(u).catch((e: Error) => e));
  await pollUntil(() => `${urls.length} requests at the upstream (it saw ${w.upstream.seen.length - seen})`, () => w.upstream.seen.length - seen >= urls.length, { ms });
  return replies;
}
