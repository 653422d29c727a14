/**
 * One small function per finding id of docs/tls-audit.md, each with a one-line fix, run in the order of
 * `CHECKS` (errors first, as docs/tls-audit.md lists them: the first error is the one a blocked request names).
 * Inputs are facts the probe and the chain builder gathered; nothing here does I/O.
 */
import type { X509Certificate } from 'node:crypto';
import net from 'node:net';
import { type BuiltChain, type Link, suppliedLinks } from './chain.js';
import { keyOf, notAfterOf, notBeforeOf, oneLineName, shortName, signatureAlgorithmOf, STRONG_HASHES } from './describe.js';
import type { Handshake, ProbeFailure } from './probe.js';
import { isSelfSigned } from './trust.js';
import type { AuditFinding } from './types.js';
import { DAY_MS } from '../x509.js';

export interface AuditFacts {
  host: string;
  port: number;
  now: number;
  /** The handshake at the best version the server and the probe share. */
  best: Handshake;
  /** The handshake with TLS 1.2 as the highest version. */
  tls12: Handshake | ProbeFailure;
  chain: BuiltChain;
}

type Check = (f: AuditFacts) => AuditFinding | undefined;

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
/** iOS 13 / macOS 10.15 (support.apple.com/103769): TLS server certificates issued from 2019-07-01 must carry the serverAuth EKU and be valid ≤ 825 days. */
const IOS13_FROM = Date.UTC(2019, 6, 1);
const IOS13_MAX_DAYS = 825;
/** Apple (support.apple.com/102028): certificates from public roots issued from 2020-09-01 must be valid ≤ 398 days. */
const PUBLIC_398_FROM = Date.UTC(2020, 8, 1);
const PUBLIC_MAX_DAYS = 398;

const quote = (c: X509Certificate) => `"${shortName(c)}"`;
const day = (d: Date) => d.toISOString().slice(0, 10);
const leafOf = (f: AuditFacts) => f.chain.links[0]!.cert;
/** The certificates whose signature and key matter: all but a self-signed root at the top (its self-signature proves nothing). */
function signedLinks(f: AuditFacts) {
  const links = f.chain.links;
  const top = links[links.length - 1]!;
  return links.length > 1 && isSelfSigned(top.cert) ? links.slice(0, -1) : links;
}

const untrusted: Check = (f) => {
  const leaf = leafOf(f);
  const reasons: string[] = [];
  const top = f.chain.links[f.chain.links.length - 1]!.cert;
  if (f.chain.end === 'self-signed' && top !== leaf) {
    reasons.push(`the chain ends in the root ${quote(top)}, which is neither in Node's root store nor in upstream.extraCaFiles`);
  } else if (f.chain.end === 'issuer-unknown') {
    const hint = top === leaf ? ` (if it is an intermediate, the server must send it)` : '';
    reasons.push(`the issuer "${oneLineName(top.issuer)}" of ${quote(top)} was not sent and is not a trusted root${hint}`);
  }
  // iOS 13+ (support.apple.com/103769) refuses these whatever the root; Android and OpenSSL refuse a wrong EKU.
  const eku = leaf.keyUsage;
  if (!isSelfSigned(leaf) && !(eku ?? []).includes(SERVER_AUTH)) {
    reasons.push(eku ? `the leaf's extended key usage lacks serverAuth` : `the leaf has no extended key usage; iOS 13+ requires serverAuth`);
  }
  const from = notBeforeOf(leaf).getTime();
  const days = Math.round((notAfterOf(leaf).getTime() - from) / DAY_MS);
  if (from >= IOS13_FROM && days > IOS13_MAX_DAYS) {
    reasons.push(`the leaf is valid for ${days} days; iOS 13+ refuses more than ${IOS13_MAX_DAYS}`);
  } else if (f.chain.trustedVia === 'system' && from >= PUBLIC_398_FROM && days > PUBLIC_MAX_DAYS) {
    reasons.push(`the leaf is valid for ${days} days; Apple refuses more than ${PUBLIC_MAX_DAYS} from a public CA`);
  }
  if (reasons.length === 0) return undefined;
  return {
    rule: 'tls-untrusted', severity: 'error',
    message: `the certificate of ${f.host} is not trusted: ${reasons.join('; ')}`,
    fix: 'use a certificate for this host from a public CA that iOS and Android trust, with serverAuth and at most 398 days',
  };
};

const selfSigned: Check = (f) => {
  const leaf = leafOf(f);
  if (!isSelfSigned(leaf)) return undefined;
  return {
    rule: 'tls-self-signed', severity: 'error',
    message: `the certificate ${quote(leaf)} of ${f.host} is self-signed; iOS never accepts a self-signed certificate`,
    fix: 'replace it with a certificate issued by a public CA',
  };
};

function foundWhere(l: Link): string {
  switch (l.source) {
    case 'seen': return `in the chain ${l.from} sent`;
    case 'aia': return `at its caIssuers URL ${l.from}`;
    default: return `in upstream.extraCaFiles ${l.from}`;
  }
}

const chainIncomplete: Check = (f) => {
  const missing = suppliedLinks(f.chain);
  if (missing.length === 0) return undefined;
  const names = missing.map((l) => `${quote(l.cert)} (found ${foundWhere(l)})`);
  return {
    rule: 'tls-chain-incomplete', severity: 'error',
    message: `${f.host} did not send the intermediate ${names.join(' and ')}; the chain verifies only with it supplied, and phones without it fail`,
    fix: 'install the intermediate certificate on the server: send the full chain (leaf, then intermediates)',
  };
};

function validityFinding(f: AuditFacts, rule: 'tls-expired' | 'tls-not-yet-valid'): AuditFinding | undefined {
  const bad = f.chain.links.filter((l) => (rule === 'tls-expired' ? notAfterOf(l.cert).getTime() < f.now : notBeforeOf(l.cert).getTime() > f.now));
  if (bad.length === 0) return undefined;
  const what = bad.map((l) => {
    if (rule === 'tls-expired') {
      const at = notAfterOf(l.cert);
      return `${quote(l.cert)} expired on ${day(at)} (${Math.ceil((f.now - at.getTime()) / DAY_MS)} days ago)`;
    }
    const at = notBeforeOf(l.cert);
    return `${quote(l.cert)} is valid only from ${at.toISOString()}`;
  });
  return rule === 'tls-expired'
    ? { rule, severity: 'error', message: `${f.host}: ${what.join('; ')}`, fix: 'renew the certificate and install the new one on the server' }
    : { rule, severity: 'error', message: `${f.host}: ${what.join('; ')}`, fix: "install a certificate whose validity has begun (check the issuer's and the server's clocks)" };
}

const expired: Check = (f) => validityFinding(f, 'tls-expired');
const notYetValid: Check = (f) => validityFinding(f, 'tls-not-yet-valid');

/** Names in the subjectAltName only, no partial wildcards: as iOS 13+ and browsers match them (the CN is ignored). */
const hostnameMismatch: Check = (f) => {
  const leaf = leafOf(f);
  const ok = net.isIP(f.host) ? leaf.checkIP(f.host) : leaf.checkHost(f.host, { subject: 'never', partialWildcards: false });
  if (ok !== undefined) return undefined;
  const byCn = !net.isIP(f.host) && leaf.checkHost(f.host, { subject: 'always', partialWildcards: false }) !== undefined;
  const names = leaf.subjectAltName ? `its names are ${leaf.subjectAltName}` : 'it has no subjectAltName';
  return {
    rule: 'tls-hostname-mismatch', severity: 'error',
    message: byCn
      ? `the certificate ${quote(leaf)} names ${f.host} only in its CN, which iOS 13+ and browsers ignore (${names})`
      : `the certificate ${quote(leaf)} does not cover ${f.host}: ${names}`,
    fix: `install a certificate whose subjectAltName lists ${f.host}`,
  };
};

const noTls12: Check = (f) => {
  if (f.tls12.ok) return undefined;
  return {
    rule: 'tls-no-tls12', severity: 'error',
    message: `${f.host} refused a TLS 1.2 handshake (${f.tls12.message}); devices without TLS 1.3, such as older Android, cannot connect`,
    fix: 'enable TLS 1.2 on the server (e.g. nginx: ssl_protocols TLSv1.2 TLSv1.3)',
  };
};

const WEAK_PROTOCOLS = new Set(['SSLv3', 'TLSv1', 'TLSv1.1']);

const weakProtocol: Check = (f) => {
  if (!WEAK_PROTOCOLS.has(f.best.protocol)) return undefined;
  return {
    rule: 'ats-weak-protocol', severity: 'warning',
    message: `the best protocol ${f.host} negotiates is ${f.best.protocol}; ATS requires TLS 1.2 or newer`,
    fix: 'enable TLS 1.2 and 1.3 on the server and turn off TLS 1.0 and 1.1',
  };
};

/** TLS 1.3 key exchange is always (EC)DHE; before it, only `ECDHE-*` suites are what ATS accepts (plain DHE is not). */
const noForwardSecrecy: Check = (f) => {
  if (f.best.protocol === 'TLSv1.3' || f.best.cipher.startsWith('ECDHE-')) return undefined;
  return {
    rule: 'ats-no-forward-secrecy', severity: 'warning',
    message: `${f.host} negotiated ${f.best.cipher} over ${f.best.protocol}, without ECDHE key exchange; ATS requires forward secrecy`,
    fix: 'enable and prefer ECDHE cipher suites (e.g. ECDHE-RSA-AES128-GCM-SHA256) on the server',
  };
};

const weakSignature: Check = (f) => {
  const weak = signedLinks(f)
    .map((l) => ({ cert: l.cert, sig: signatureAlgorithmOf(l.cert) }))
    .filter((x) => x.sig.hash !== undefined && !STRONG_HASHES.has(x.sig.hash));
  if (weak.length === 0) return undefined;
  return {
    rule: 'ats-weak-signature', severity: 'warning',
    message: `${weak.map((x) => `${quote(x.cert)} is signed with ${x.sig.name}`).join('; ')}; ATS requires SHA-256 or stronger (iOS 13+ no longer trusts SHA-1)`,
    fix: 'reissue the certificate signed with SHA-256 or stronger',
  };
};

const weakKey: Check = (f) => {
  const weak = signedLinks(f).filter((l) => {
    const k = keyOf(l.cert);
    return k.type === 'RSA' || k.type === 'RSA-PSS' ? k.bits < 2048 : k.type === 'EC' ? k.bits < 256 : k.type === 'DSA';
  });
  if (weak.length === 0) return undefined;
  return {
    rule: 'ats-weak-key', severity: 'warning',
    message: `${weak.map((l) => { const k = keyOf(l.cert); return `${quote(l.cert)} has a ${k.type} ${k.bits}-bit key`; }).join('; ')}; ATS requires RSA ≥ 2048 or ECC ≥ 256 bits`,
    fix: 'reissue the certificate with an RSA 2048 (or larger) or ECDSA P-256 key',
  };
};

/** docs/tls-audit.md order: errors, then the ATS warnings. */
export const CHECKS: readonly Check[] = [
  untrusted, selfSigned, chainIncomplete, expired, notYetValid, hostnameMismatch, noTls12,
  weakProtocol, noForwardSecrecy, weakSignature, weakKey,
];

/** For a host the probe could not complete a handshake with. */
export function unreachableFinding(host: string, port: number, via: string, failure: ProbeFailure): AuditFinding {
  const what = failure.stage === 'handshake' ? 'no TLS handshake with' : 'cannot reach';
  return {
    rule: 'tls-unreachable', severity: 'error',
    message: `${what} ${host}:${port}${via}: ${failure.message}`,
    fix: failure.stage === 'handshake'
      ? 'make the server accept TLS 1.2 or 1.3 on this port'
      : 'check that the server is up and reachable from here (or map it with upstream.hosts)',
  };
}
