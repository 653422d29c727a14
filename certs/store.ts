/**
 * Minted leaves as TLS contexts, one per host: minted once, cached as Promises so that concurrent
 * first CONNECTs to a host share one mint, bounded (least recently used goes first), and re-minted
 * a day before expiry. Each context holds two leaves for the host, RSA 2048 and its ECDSA P-256
 * twin: OpenSSL serves the P-256 one to a client that offers ECDSA (TLS 1.3 clients, Chromium,
 * iOS, Android), whose handshake then costs the proxy an ECDSA signature instead of an RSA-2048
 * one (~1 ms of its core each), and the RSA one to a client that offers only RSA.
 */
import crypto from 'node:crypto';
import tls from 'node:tls';
import { promisify } from 'node:util';
import type { Ca } from './ca.js';
import { type LeafKey, mintLeaf } from './leaf.js';
import { DAY_MS } from './x509.js';

const generateKeyPair = promisify(crypto.generateKeyPair);

interface Entry { context: Promise<tls.SecureContext>; renewAt: number }

/** Enough for every host a game and its SDKs touch; 10,000 distinct hosts stay within a few MiB. */
export const DEFAULT_MAX_CONTEXTS = 1000;

async function leafKey(type: LeafKey['type']): Promise<LeafKey> {
  const { privateKey, publicKey } = type === 'rsa'
    ? await generateKeyPair('rsa', { modulusLength: 2048 })
    : await generateKeyPair('ec', { namedCurve: 'P-256' });
  return { type, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), spki: publicKey.export({ type: 'spki', format: 'der' }) };
}

export class CertStore {
  private readonly entries = new Map<string, Entry>();
  private leafKeys?: Promise<[LeafKey, LeafKey]>;

  constructor(private readonly ca: Ca, private readonly max = DEFAULT_MAX_CONTEXTS) {}

  /**
   * Starts generating the leaf key pairs, in the thread pool. Called once the proxy listens (or by
   * the first mint): on a machine with one core for the proxy, a key generation running beside
   * the start would delay the listening socket by as long as it takes.
   */
  warm(): void {
    this.keys();
  }

  private keys(): Promise<[LeafKey, LeafKey]> {
    if (!this.leafKeys) {
      this.leafKeys = Promise.all([leafKey('rsa'), leafKey('ec')]);
      this.leafKeys.catch(() => undefined);
    }
    return this.leafKeys;
  }

  /** The TLS context for `host` (a normalised host name or IP). */
  context(host: string): Promise<tls.SecureContext> {
    const now = Date.now();
    const hit = this.entries.get(host);
    if (hit && hit.renewAt > now) {
      this.entries.delete(host);
      this.entries.set(host, hit);
      return hit.context;
    }
    const entry: Entry = { context: this.mint(host), renewAt: Number.POSITIVE_INFINITY };
    this.entries.delete(host);
    this.entries.set(host, entry);
    entry.context.then(
      () => undefined,
      () => this.entries.get(host) === entry && this.entries.delete(host),
    );
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return entry.context;
  }

  /** True when `host` has a context (minted or being minted) that is not due for renewal. */
  has(host: string): boolean {
    const hit = this.entries.get(host);
    return hit !== undefined && hit.renewAt > Date.now();
  }

  get size(): number {
    return this.entries.size;
  }

  private async mint(host: string): Promise<tls.SecureContext> {
    const keys = await this.keys();
    // One clock reading for both twins: minted apart (an RSA signature on a busy machine), they
    // could straddle a second and get different dates.
    const now = Date.now();
    const leaves = keys.map((key) => mintLeaf(host, this.ca, key, now));
    const entry = this.entries.get(host);
    if (entry) entry.renewAt = Math.min(...leaves.map((l) => l.notAfter.getTime())) - DAY_MS;
    // One context, both key pairs: OpenSSL picks per handshake by what the client offers.
    return tls.createSecureContext({ key: keys.map((k) => k.privateKeyPem), cert: leaves.map((l) => l.certPem) });
  }
}
