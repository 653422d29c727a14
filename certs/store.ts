/**
 * Minted leaves as TLS contexts, one per host: minted once, cached as Promises so that concurrent
 * first CONNECTs to a host share one mint, bounded (least recently used goes first), and re-minted
 * a day before expiry.
 */
import crypto from 'node:crypto';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { loadForge } from './forge.js';
import type { Ca } from './ca.js';
import { type LeafKey, mintLeaf } from './leaf.js';
import { DAY_MS } from './x509.js';

const generateKeyPair = promisify(crypto.generateKeyPair);

interface Entry { context: Promise<tls.SecureContext>; renewAt: number }

/** Enough for every host a game and its SDKs touch; 10,000 distinct hosts stay within a few MiB. */
export const DEFAULT_MAX_CONTEXTS = 1000;

export class CertStore {
  private readonly entries = new Map<string, Entry>();
  private leafKey?: Promise<LeafKey>;

  constructor(private readonly ca: Ca, private readonly max = DEFAULT_MAX_CONTEXTS) {}

  /**
   * Starts generating the leaf key pair, in the thread pool. Called once the proxy listens (or by
   * the first mint): on a machine with one core for the proxy, a key generation running beside
   * the start would delay the listening socket by as long as it takes (issue 14).
   */
  warm(): void {
    this.key();
  }

  private key(): Promise<LeafKey> {
    if (this.leafKey) return this.leafKey;
    this.leafKey = generateKeyPair('rsa', { modulusLength: 2048 }).then(({ privateKey, publicKey }) => {
      const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      let forgeKey: LeafKey['publicKey'] | undefined;
      return {
        privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        // In forge's form at the first mint: loading forge (~20 ms) is not the start's to pay.
        get publicKey() { return (forgeKey ??= loadForge().pki.publicKeyFromPem(spki)); },
      };
    });
    this.leafKey.catch(() => undefined);
    return this.leafKey;
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

  get size(): number {
    return this.entries.size;
  }

  private async mint(host: string): Promise<tls.SecureContext> {
    const key = await this.key();
    const leaf = mintLeaf(host, this.ca, key);
    const entry = this.entries.get(host);
    if (entry) entry.renewAt = leaf.notAfter.getTime() - DAY_MS;
    return tls.createSecureContext({ key: key.privateKeyPem, cert: leaf.certPem });
  }
}
