/**
 * Local HTTPS+WSS servers, each presenting one TLS flaw of docs/tls-audit.md (or none), with the ids the
 * audit must raise for it: the same catalogue for the inline audit and `mgproxy audit`. A second
 * test PKI, whose root nobody trusts, makes the untrusted chain.
 */
import fs from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';
import type { TlsRuleId } from '../../proxy/rules/types.js';
import { TestPki, type TestCert } from './pki.js';
import { startUpstream, type Upstream } from './upstreams.js';

const DAY = 86_400_000;
/** Test servers complete handshakes OpenSSL's default level would refuse (SHA-1, TLS 1.1). */
const LENIENT: tls.TlsOptions = { ciphers: 'DEFAULT:@SECLEVEL=0' };

export interface TlsCase {
  /** Short name, also the first label of the host. */
  name: string;
  /** Exactly the ids the audit must raise, in docs/tls-audit.md order. */
  ids: TlsRuleId[];
  /** The leaf, whether the intermediate is sent, and the server's TLS options. */
  make(pki: TestPki, stranger: TestPki): { leaf: TestCert; withIntermediate?: boolean; pki?: TestPki; tls?: tls.TlsOptions };
}

export const hostOf = (c: TlsCase | string) => `${typeof c === 'string' ? c : c.name}.tls.test`;

export const TLS_CASES: readonly TlsCase[] = [
  { name: 'good', ids: [], make: (p) => ({ leaf: p.leaf({ names: [hostOf('good')] }) }) },
  { name: 'incomplete', ids: ['tls-chain-incomplete'], make: (p) => ({ leaf: p.leaf({ names: [hostOf('incomplete')] }), withIntermediate: false }) },
  {
    name: 'expired', ids: ['tls-expired'],
    make: (p) => ({ leaf: p.leaf({ names: [hostOf('expired')], notBefore: new Date(Date.now() - 100 * DAY), notAfter: new Date(Date.now() - 2 * DAY) }) }),
  },
  {
    name: 'notyet', ids: ['tls-not-yet-valid'],
    make: (p) => ({ leaf: p.leaf({ names: [hostOf('notyet')], notBefore: new Date(Date.now() + 2 * DAY), notAfter: new Date(Date.now() + 90 * DAY) }) }),
  },
  { name: 'wrongname', ids: ['tls-hostname-mismatch'], make: (p) => ({ leaf: p.leaf({ names: ['other.tls.test'] }) }) },
  { name: 'selfsigned', ids: ['tls-self-signed'], make: (p) => ({ leaf: p.leaf({ names: [hostOf('selfsigned')], issuer: 'self' }) }) },
  { name: 'untrusted', ids: ['tls-untrusted'], make: (_p, s) => ({ leaf: s.leaf({ names: [hostOf('untrusted')] }), pki: s }) },
  { name: 'tls13only', ids: ['tls-no-tls12'], make: (p) => ({ leaf: p.leaf({ names: [hostOf('tls13only')] }), tls: { minVersion: 'TLSv1.3' } }) },
  {
    name: 'tls11', ids: ['tls-no-tls12', 'ats-weak-protocol'],
    make: (p) => ({ leaf: p.leaf({ names: [hostOf('tls11')] }), tls: { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' } }),
  },
  {
    // TLS 1.2 with RSA key exchange only: OpenSSL here still offers these suites at level 0.
    name: 'nofs', ids: ['ats-no-forward-secrecy'],
    make: (p) => ({ leaf: p.leaf({ names: [hostOf('nofs')] }), tls: { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-GCM-SHA384:@SECLEVEL=0' } }),
  },
  { name: 'sha1', ids: ['ats-weak-signature'], make: (p) => ({ leaf: p.leaf({ names: [hostOf('sha1')], hash: 'sha1' }) }) },
  { name: 'rsa1024', ids: ['ats-weak-key'], make: (p) => ({ leaf: p.leaf({ names: [hostOf('rsa1024')], keyBits: 1024 }) }) },
];

export const isBlocking = (c: TlsCase) => c.ids.some((id) => !id.startsWith('ats-'));

export interface TlsWorld {
  pki: TestPki;
  stranger: TestPki;
  servers: Map<string, Upstream>;
  /** `upstream.hosts` for every case. */
  hosts: Record<string, string>;
  /** The test root and the intermediate, for extraCaFiles (the intermediate completes the `incomplete` chain). */
  caFiles: string[];
  close(): Promise<void>;
}

export async function startTlsWorld(cases: readonly TlsCase[] = TLS_CASES): Promise<TlsWorld> {
  const pki = new TestPki();
  const stranger = new TestPki();
  const servers = new Map<string, Upstream>();
  const hosts: Record<string, string> = {};
  for (const c of cases) {
    const made = c.make(pki, stranger);
    const issuer = made.pki ?? pki;
    const cert = made.withIntermediate === false ? made.leaf.certPem : issuer.chain(made.leaf);
    const server = await startUpstream({ cert, key: made.leaf.keyPem, tls: { ...LENIENT, ...made.tls } });
    servers.set(hostOf(c), server);
    hosts[hostOf(c)] = server.address;
  }
  const intermediateFile = path.join(pki.dir, 'intermediate.pem');
  fs.writeFileSync(intermediateFile, pki.intermediate.certPem);
  return {
    pki, stranger, servers, hosts, caFiles: [pki.rootFile, intermediateFile],
    close: async () => {
      await Promise.all([...servers.values()].map((s) => s.close()));
      pki.cleanup();
      stranger.cleanup();
    },
  };
}

/** A config allowing every case's host in `domains.request` and `domains.socket`, routed to its server. */
export function tlsConfig(world: TlsWorld, extra: Record<string, unknown> = {}) {
  const names = Object.keys(world.hosts);
  return {
    domains: { request: names.map((h) => `https://${h}`), socket: names.map((h) => `wss://${h}`) },
    upstream: { hosts: world.hosts, extraCaFiles: world.caFiles },
    ...extra,
  };
}
