/**
 * The usual test world: a test PKI, one HTTPS+WSS upstream that answers for the given fake
 * domains (mapped with `upstream.hosts`, trusted through `extraCaFiles`), and a proxy in front.
 */
import { TestPki } from './pki.js';
import { type ProxyProcess, startProxy, type StartOptions } from './proxy.js';
import { startUpstream, type Upstream } from './upstreams.js';
import { type RequestOptions, type Reply, viaProxy } from './clients.js';

export interface World {
  pki: TestPki;
  upstream: Upstream;
  proxy: ProxyProcess;
  /** GET (or opts.method) https://HOST/path through the proxy with Node's https. */
  fetch(url: string, opts?: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

export const HOSTS = ['api.example.test', 'upload.example.test', 'cdn.example.test', 'ws.example.test', 'evil.example.test', 'x.passthrough.test'];

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
    upstream: { hosts: Object.fromEntries(HOSTS.map((h) => [h, upstreamAddress])), extraCaFiles: [rootFile] },
    ...extra,
  };
}

export async function startWorld(opts: { config?: (upstreamAddress: string, rootFile: string) => object; proxy?: Omit<StartOptions, 'config'> } = {}): Promise<World> {
  const pki = new TestPki();
  const leaf = pki.leaf({ names: HOSTS });
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
