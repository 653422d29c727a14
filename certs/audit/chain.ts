/**
 * Builds the chain from the leaf the server sent to a trusted root, the way OpenSSL does
 * ("trusted first": at each step a trusted root that issued the current certificate wins, then a
 * certificate the server sent, then a supplied intermediate), but without stopping at the first
 * problem: the audit must name every cause (docs/tls-audit.md), where a verifier names one. Signatures are
 * checked whatever their strength, so SHA-1 and small keys do not hide the rest (docs/rules.md).
 */
import type { X509Certificate } from 'node:crypto';
import { isSelfSigned, issuedBy, type TrustedCert, type TrustSource, type TrustStore } from './trust.js';

export interface Link {
  cert: X509Certificate;
  /** `sent` by the server, or supplied by the trust store (a root, or an intermediate the server did not send). */
  source: 'sent' | TrustedCert['source'];
  /** The extraCaFiles file, or the host that sent it. */
  from?: string;
  /** A trusted root: the end of a trusted chain. */
  anchor: boolean;
}

export interface BuiltChain {
  /** Leaf first. */
  links: Link[];
  /** `trusted`: ends in a trusted root; `self-signed`: ends in a self-signed certificate nobody trusts; `issuer-unknown`: the last issuer was found nowhere. */
  end: 'trusted' | 'self-signed' | 'issuer-unknown';
  trustedVia: TrustSource | null;
  /** The extraCaFiles file of the root, when trusted through one. */
  trustFile?: string;
}

/** RFC 5280 sets no limit; OpenSSL's default is 100. Real chains have 2 to 4 certificates. */
const MAX_DEPTH = 10;

export function buildChain(sent: readonly X509Certificate[], trust: TrustStore, now: number): BuiltChain {
  const links: Link[] = [{ cert: sent[0]!, source: 'sent', anchor: false }];
  const used = new Set([sent[0]!.fingerprint256]);
  const trusted = (root: TrustedCert): BuiltChain => ({
    links, end: 'trusted', trustedVia: root.source === 'system' || root.source === 'extraCaFiles' ? root.source : null, trustFile: root.source === 'extraCaFiles' ? root.from : undefined,
  });
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const last = links[links.length - 1]!;
    const current = last.cert;
    const itself = trust.anchorOf(current);
    if (itself) {
      last.anchor = true;
      return trusted(itself);
    }
    const root = trust.rootIssuerOf(current, now);
    if (root) {
      links.push({ cert: root.cert, source: root.source, from: root.from, anchor: true });
      return trusted(root);
    }
    if (isSelfSigned(current)) return { links, end: 'self-signed', trustedVia: null };
    // An intermediate must be a CA (basicConstraints cA), as OpenSSL checks; roots are exempt (old v1 roots have no extensions).
    const next = sent.find((c) => !used.has(c.fingerprint256) && c.ca && issuedBy(current, c));
    const supplied = next ? undefined : trust.suppliedIssuerOf(current, now, used);
    if (next) links.push({ cert: next, source: 'sent', anchor: false });
    else if (supplied) links.push({ cert: supplied.cert, source: supplied.source, from: supplied.from, anchor: false });
    else return { links, end: 'issuer-unknown', trustedVia: null };
    used.add(links[links.length - 1]!.cert.fingerprint256);
  }
  return { links, end: 'issuer-unknown', trustedVia: null };
}

/** Intermediates the chain needed that the server did not send. */
export const suppliedLinks = (chain: BuiltChain) => chain.links.filter((l) => l.source !== 'sent' && !l.anchor);
