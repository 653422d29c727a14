/** The kinds of host mgproxy mints leaves for, and the leaf the proxy really presents for one. */
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { rawConnect } from './clients.js';
import type { ProxyProcess } from './proxy.js';

/** Every kind of host a leaf is minted for, as the client names it. */
export const LEAF_KINDS: Record<string, string> = {
  plain: 'game.example.test',
  long: `${'a'.repeat(63)}.${'b'.repeat(63)}.example.test`,
  idn: 'xn--bcher-kva.example.test',
  underscore: 'my_host.example.test',
  'trailing dot': 'dot.example.test.',
  ipv4: '192.168.50.5',
  ipv6: '2001:db8::5',
};

/**
 * What a client that offers no ECDSA signature algorithm sends (older stacks, RSA-only
 * configurations): the proxy must answer it with the RSA twin of a leaf.
 */
export const RSA_ONLY: tls.ConnectionOptions = {
  sigalgs: 'rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:rsa_pkcs1_sha256:rsa_pkcs1_sha384:rsa_pkcs1_sha512',
};

/** The two kinds of client a leaf is presented to, and the key each must get. */
export const CLIENT_KINDS = [
  { client: 'an ECDSA-capable client (Node\'s defaults)', options: {} as tls.ConnectionOptions, key: { type: 'EC', bits: 256 } },
  { client: 'a client that offers only RSA', options: RSA_ONLY, key: { type: 'RSA', bits: 2048 } },
] as const;

/** The leaf the proxy presents for `host`, through a real CONNECT and handshake trusting only its CA. */
export async function presentedLeaf(proxy: ProxyProcess, host: string, options: tls.ConnectionOptions = {}): Promise<X509Certificate> {
  const ip = host.includes(':');
  const { socket, head } = await rawConnect(proxy.port, `${ip ? `[${host}]` : host}:443`);
  assert.match(head, /^HTTP\/1\.1 200/);
  const s = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const t = tls.connect({ socket, servername: /^[\d.]+$|:/.test(host) ? undefined : host, ca: proxy.caPem, checkServerIdentity: () => undefined, ...options }, () => resolve(t));
    t.on('error', reject);
  });
  const cert = s.getPeerX509Certificate()!;
  s.destroy();
  return cert;
}

