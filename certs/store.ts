/**
 * Minted leaves as TLS contexts, one per host and key type (docs/certificates.md): an RSA 2048 leaf
 * for clients that offer only RSA, and its ECDSA P-256 twin for clients that offer ECDSA (TLS 1.3
 * stacks, Chromium, iOS, Android), whose handshakes then cost the proxy an ECDSA signature instead
 * of an RSA-2048 one. A context holds one leaf, so a new host's first handshake pays one CA
 * signature and one key parse, not two; the other twin is minted when a client that needs it
 * comes. Contexts are minted once, cached as Promises so that concurrent first CONNECTs share one
 * mint, bounded (least recently used goes first; the bound counts contexts, not hosts), and
 * re-minted a day before expiry.
 */
import crypto from 'node:crypto';
import tls from 'node:tls';
import { promisify } from 'node:util';
import type { Ca } from './ca.js';
import { type LeafKey, mintLeaf } from './leaf.js';
import { EvictedContexts } from './release.js';
import { DAY_MS } from './x509.js';

const generateKeyPair = promisify(crypto.generateKeyPair);

export type LeafKeyType = LeafKey['type'];

interface Entry {
  context: Promise<tls.SecureContext>;
  renewAt: number;
  /** The clock reading the leaf's dates come from, shared with its twin (see mint). */
  mintedAt: number;
}

/** One leaf minted: what the store's `onMint` hears (the proxy logs it at debug level). */
export interface MintEvent { host: string; key: LeafKeyType; ms: number }

/**
 * Enough for every host a game and its SDKs touch (phones need one context per host, the P-256
 * one). An SSL_CTX costs ~37 KiB of native memory (measured with Node 20's OpenSSL 3.0), so the
 * live contexts hold ~18 MiB; a context evicted and needed again costs one mint (~1.5 ms).
 * Evicted ones are freed at the next full collection (release.ts).
 */
export const DEFAULT_MAX_CONTEXTS = 500;

async function leafKey(type: LeafKeyType): Promise<LeafKey> {
  const { privateKey, publicKey } = type === 'rsa'
    ? await generateKeyPair('rsa', { modulusLength: 2048 })
    : await generateKeyPair('ec', { namedCurve: 'P-256' });
  return { type, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), spki: publicKey.export({ type: 'spki', format: 'der' }) };
}

const cacheKey = (host: string, type: LeafKeyType) => `${type} ${host}`;
const twinOf = (type: LeafKeyType): LeafKeyType => (type === 'rsa' ? 'ec' : 'rsa');

export class CertStore {
  private readonly entries = new Map<string, Entry>();
  private readonly leafKeys = new Map<LeafKeyType, Promise<LeafKey>>();
  /** A quarter of the bound evicted between collections: at most that many evicted contexts wait. */
  private readonly evictions: EvictedContexts;

  constructor(
    private readonly ca: Ca,
    private readonly max = DEFAULT_MAX_CONTEXTS,
    private readonly onMint?: (event: MintEvent) => void,
  ) {
    this.evictions = new EvictedContexts(Math.max(64, Math.ceil(max / 4)));
  }

  /**
   * Starts generating the leaf key pairs, in the thread pool. Called once the proxy listens (or by
   * the first mint): on a machine with one core for the proxy, a key generation running beside
   * the start would delay the listening socket by as long as it takes.
   */
  warm(): void {
    this.key('ec');
    this.key('rsa');
  }

  private key(type: LeafKeyType): Promise<LeafKey> {
    let key = this.leafKeys.get(type);
    if (!key) {
      key = leafKey(type);
      key.catch(() => this.leafKeys.delete(type));
      this.leafKeys.set(type, key);
    }
    return key;
  }

  /**
   * The TLS context for `host` (a normalised host name or IP) holding its leaf of key `type`:
   * 'ec' for a client that offers ECDSA P-256 (proxy/engine/client-hello.ts), else 'rsa'.
   */
  context(host: string, type: LeafKeyType): Promise<tls.SecureContext> {
    const k = cacheKey(host, type);
    const now = Date.now();
    const hit = this.entries.get(k);
    if (hit && hit.renewAt > now) {
      this.entries.delete(k);
      this.entries.set(k, hit);
      return hit.context;
    }
    // The twin's clock reading, when the twin is cached and not due: both leaves of a host then
    // carry the same dates (and are renewed together), as when they were minted side by side.
    const twin = this.entries.get(cacheKey(host, twinOf(type)));
    const mintedAt = twin && twin.renewAt > now ? twin.mintedAt : now;
    const entry: Entry = { context: undefined!, renewAt: Number.POSITIVE_INFINITY, mintedAt };
    entry.context = this.mint(host, type, entry);
    this.entries.delete(k);
    this.entries.set(k, entry);
    entry.context.then(
      () => undefined,
      () => this.entries.get(k) === entry && this.entries.delete(k),
    );
    // Dropping the least recently used context's last reference: its SSL_CTX is freed when V8
    // collects the SecureContext (and no connection still uses it), which release.ts hastens.
    if (this.entries.size > this.max) {
      this.entries.delete(this.entries.keys().next().value!);
      this.evictions.evicted();
    }
    return entry.context;
  }

  /** True when `host` has a context of key `type` (minted or being minted) that is not due for renewal. */
  has(host: string, type: LeafKeyType): boolean {
    const hit = this.entries.get(cacheKey(host, type));
    return hit !== undefined && hit.renewAt > Date.now();
  }

  /** Contexts held (each one leaf of one host). */
  get size(): number {
    return this.entries.size;
  }

  private async mint(host: string, type: LeafKeyType, entry: Entry): Promise<tls.SecureContext> {
    const key = await this.key(type);
    const t0 = performance.now();
    const leaf = mintLeaf(host, this.ca, key, entry.mintedAt);
    entry.renewAt = leaf.notAfter.getTime() - DAY_MS;
    // One key and one certificate: OpenSSL parses one key (~0.4 ms of the mint) instead of two.
    const context = tls.createSecureContext({ key: key.privateKeyPem, cert: leaf.certPem });
    this.onMint?.({ host, key: type, ms: performance.now() - t0 });
    return context;
  }
}
