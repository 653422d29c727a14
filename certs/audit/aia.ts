/**
 * Fetching a missing intermediate from the caIssuers URL in the certificate it should have issued
 * (RFC 5280 §4.2.2.1, "Authority Information Access"), as browsers and the developer tools do.
 * This is why a server that forgets its intermediate works in the developer tools and fails on
 * Android, which does not fetch: with the fetched certificate the audit can show that the chain
 * is complete once the intermediate is supplied, and name it `tls-chain-incomplete` (docs/tls-audit.md).
 *
 * Only on a broken chain, only `http://` URLs on the default port (what CAs publish; it keeps a
 * hostile certificate from pointing the proxy at arbitrary local ports), routed like any
 * upstream (`upstream.hosts`), bounded in time and size.
 */
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import type { LookupFunction } from 'node:net';
import type { Duplex } from 'node:stream';
import type forge from 'node-forge';
import { loadForge } from '../forge.js';
import { type BuiltChain, buildChain } from './chain.js';
import type { TrustStore } from './trust.js';

/** Where a connection for `host:port` goes (proxy/engine/upstream/pools.ts `connectOptions`). */
export type Route = (host: string, port: number) => { host: string; port: number; lookup?: LookupFunction; tunnel?: () => Promise<Duplex> };

/** A CA's certificate file is a few KiB; a PKCS#7 bundle a few more. */
const MAX_BYTES = 64 * 1024;
/** Intermediates above intermediates: real chains have at most two. */
const MAX_FETCHES = 3;

export function caIssuerUrls(cert: X509Certificate): string[] {
  return (cert.infoAccess ?? '').split('\n')
    .map((line) => /^CA Issuers - URI:(\S+)$/.exec(line.trim())?.[1])
    .filter((u): u is string => u !== undefined && /^http:\/\/[^/:]+(:80)?\//i.test(u));
}

/** DER, PEM, or a PKCS#7 certs-only bundle (`.p7c`), as RFC 5280 §4.2.2.1 allows. */
export function certificatesIn(body: Buffer): X509Certificate[] {
  const text = body.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).flatMap((pem) => parse(pem));
  }
  const der = parse(body);
  if (der.length > 0) return der;
  try {
    // ContentInfo { contentType, [0] EXPLICIT SignedData { …, [0] IMPLICIT certificates SET OF Certificate, … } }
    const forge = loadForge();
    const top = forge.asn1.fromDer(text, false);
    const signedData = ((top.value as forge.asn1.Asn1[])[1]!.value as forge.asn1.Asn1[])[0]!;
    const certs = (signedData.value as forge.asn1.Asn1[]).find((f) => f.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && f.type === 0);
    return ((certs?.value ?? []) as forge.asn1.Asn1[]).flatMap((c) => parse(Buffer.from(forge.asn1.toDer(c).getBytes(), 'binary')));
  } catch {
    return [];
  }
}

function parse(data: string | Buffer): X509Certificate[] {
  try {
    return [new X509Certificate(data)];
  } catch {
    return [];
  }
}

function fetchCertificates(url: string, route: Route, timeoutMs: number, signal?: AbortSignal): Promise<X509Certificate[]> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const { tunnel, ...to } = route(u.hostname, 80);
    // Through the upstream proxy (docs/upstream-proxy.md): the request goes on its tunnel.
    const createConnection = tunnel && ((_opts: unknown, done: (err: Error | null, socket: Duplex) => void) => { tunnel().then((s) => { done(null, s); s.resume(); }, (err: Error) => done(err, undefined as never)); return undefined; });
    const req = http.get({ ...to, ...(createConnection ? { createConnection } : {}), path: `${u.pathname}${u.search}`, headers: { host: u.host }, agent: createConnection ? undefined : false, timeout: timeoutMs, signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BYTES) req.destroy();
        else chunks.push(c);
      });
      res.on('error', () => undefined);
      res.on('close', () => resolve(res.complete && res.statusCode === 200 ? certificatesIn(Buffer.concat(chunks)) : []));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve([]));
  });
}

/**
 * While the chain from `sent` stops at an issuer found nowhere and the last certificate names a
 * caIssuers URL, fetches it and offers what came to the trust store (which uses it only if it
 * really issued that certificate). Stops at `deadline` (epoch ms). Returns the chain as last built,
 * which is the one the store now completes (undefined after the last fetch, when it was not rebuilt).
 */
export async function fetchMissingIssuers(sent: readonly X509Certificate[], trust: TrustStore, route: Route, deadline: number, signal?: AbortSignal): Promise<BuiltChain | undefined> {
  for (let i = 0; i < MAX_FETCHES; i++) {
    if (signal?.aborted) return undefined;
    const chain = buildChain(sent, trust, Date.now());
    if (chain.end !== 'issuer-unknown') return chain;
    const url = caIssuerUrls(chain.links[chain.links.length - 1]!.cert)[0];
    const left = deadline - Date.now();
    if (url === undefined || left <= 0) return chain;
    if (!trust.offerFetched(await fetchCertificates(url, route, left, signal), url)) return chain;
  }
  return undefined;
}
