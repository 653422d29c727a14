/**
 * What the audit trusts (docs/tls-audit.md `tls-untrusted`): Node's root store plus `upstream.extraCaFiles`,
 * and what it may use to complete a chain the server sent short (docs/rules.md: intermediates from
 * `extraCaFiles` and the ones other hosts sent). Roots are trust anchors; an intermediate is never
 * one, as for OpenSSL without X509_V_FLAG_PARTIAL_CHAIN (which Node does not set): a chain that
 * needs a supplied intermediate is incomplete whoever supplies it.
 */
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';

export type TrustSource = 'system' | 'extraCaFiles';

export interface TrustedCert {
  cert: X509Certificate;
  source: TrustSource | 'seen' | 'aia';
  /** The extraCaFiles file it came from, the host that sent it (`seen`), or the caIssuers URL it was fetched from (`aia`). */
  from?: string;
}

/** `child` names `parent` as its issuer (X509_check_issued: names, key ids, keyCertSign) and `parent`'s key signed it. */
export function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/**
 * Self-signed: its own issuer, signed by its own key. Not `issuedBy(cert, cert)`: X509_check_issued
 * also wants keyCertSign, which a self-signed leaf lacks (OpenSSL's X509_self_signed skips it too).
 */
export function isSelfSigned(cert: X509Certificate): boolean {
  try {
    return cert.subject === cert.issuer && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

const validNow = (c: X509Certificate, now: number) => new Date(c.validFrom).getTime() <= now && now <= new Date(c.validTo).getTime();

/** Node's roots, parsed once per process (about 150 certificates, ~20 ms): lazily, or early with `warm()`. */
let systemRoots: TrustedCert[] | undefined;
function system(): TrustedCert[] {
  systemRoots ??= tls.rootCertificates.map((pem) => ({ cert: new X509Certificate(pem), source: 'system' as const }));
  return systemRoots;
}

export class TrustStore {
  private readonly extraRoots: TrustedCert[] = [];
  /** Intermediates that may complete a chain: from extraCaFiles, then those other hosts sent. */
  private readonly supply: TrustedCert[] = [];
  private readonly known = new Set<string>();

  constructor(extraCas: readonly { file: string; pem: string }[] = []) {
    for (const { file, pem } of extraCas) {
      const cert = new X509Certificate(pem);
      if (this.known.has(cert.fingerprint256)) continue;
      this.known.add(cert.fingerprint256);
      (isSelfSigned(cert) ? this.extraRoots : this.supply).push({ cert, source: 'extraCaFiles', from: file });
    }
  }

  /** Parses Node's roots now, off the path of the first request. */
  warm(): void {
    this.index();
  }

  /** The trusted root that is `cert` itself (same fingerprint). */
  anchorOf(cert: X509Certificate): TrustedCert | undefined {
    return this.index().byFingerprint.get(cert.fingerprint256);
  }

  /**
   * A trusted root that issued `cert`, preferring one valid now (cross-signed roots come in pairs).
   * Looked up by the issuer's name first (an audit checked every root's signature: 0.4 ms a host);
   * names OpenSSL would match but Node prints differently (case, spacing, escapes: OpenSSL compares
   * a canonical form) by that form. (A scan of every root cost each new host's leaf ~0.3 ms.)
   */
  rootIssuerOf(cert: X509Certificate, now: number): TrustedCert | undefined {
    const index = this.index();
    const named = index.bySubject.get(cert.issuer)?.filter((r) => issuedBy(cert, r.cert)) ?? [];
    return pick(named.length > 0 ? named : index.byLooseSubject.get(looseName(cert.issuer))?.filter((r) => issuedBy(cert, r.cert)) ?? [], now);
  }

  /** An intermediate, not sent by the server, that issued `cert`. */
  suppliedIssuerOf(cert: X509Certificate, now: number, exclude: ReadonlySet<string>): TrustedCert | undefined {
    return pick(this.supply.filter((s) => !exclude.has(s.cert.fingerprint256) && s.cert.ca && issuedBy(cert, s.cert)), now);
  }

  /** Keeps the CA certificates a server sent, to complete other hosts' chains (docs/rules.md "certificates seen"). */
  remember(sent: readonly X509Certificate[], host: string): void {
    for (const cert of sent) {
      if (!cert.ca || this.known.has(cert.fingerprint256) || isSelfSigned(cert)) continue;
      this.known.add(cert.fingerprint256);
      this.supply.push({ cert, source: 'seen', from: host });
    }
  }

  /** Certificates fetched from a caIssuers URL (certs/audit/aia.ts); true when any was new. */
  offerFetched(certs: readonly X509Certificate[], url: string): boolean {
    let added = false;
    for (const cert of certs) {
      if (this.known.has(cert.fingerprint256)) continue;
      this.known.add(cert.fingerprint256);
      this.supply.push({ cert, source: 'aia', from: url });
      added = true;
    }
    return added;
  }

  private allRoots?: TrustedCert[];
  private roots(): TrustedCert[] {
    this.allRoots ??= [...this.extraRoots, ...system()];
    return this.allRoots;
  }

  private rootIndex?: { byFingerprint: Map<string, TrustedCert>; bySubject: Map<string, TrustedCert[]>; byLooseSubject: Map<string, TrustedCert[]> };
  private index() {
    if (this.rootIndex) return this.rootIndex;
    const byFingerprint = new Map<string, TrustedCert>();
    const bySubject = new Map<string, TrustedCert[]>();
    const byLooseSubject = new Map<string, TrustedCert[]>();
    const add = (map: Map<string, TrustedCert[]>, key: string, r: TrustedCert) => {
      const same = map.get(key);
      if (same) same.push(r);
      else map.set(key, [r]);
    };
    for (const r of this.roots()) {
      if (!byFingerprint.has(r.cert.fingerprint256)) byFingerprint.set(r.cert.fingerprint256, r);
      add(bySubject, r.cert.subject, r);
      add(byLooseSubject, looseName(r.cert.subject), r);
    }
    return (this.rootIndex = { byFingerprint, bySubject, byLooseSubject });
  }
}

/**
 * A printed Name near OpenSSL's canonical form (X509_NAME_cmp): RFC 2253 escapes undone, ASCII
 * lowercased, runs of spaces collapsed and trimmed per attribute. String types print alike.
 */
function looseName(printed: string): string {
  return printed.split('\n').map((line) => line.replace(/\\(.)/g, '$1').toLowerCase().replace(/\s+/g, ' ').replace(/= /, '=').trim()).join('\n');
}

function pick(candidates: TrustedCert[], now: number): TrustedCert | undefined {
  return candidates.find((c) => validNow(c.cert, now)) ?? candidates[0];
}
