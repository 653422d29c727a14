/**
 * TLS contexts that complete a handshake OpenSSL's default would refuse (docs/rules.md "Weak upstream
 * crypto": warnings never block). On Node 20 with OpenSSL 3.0, the default security level 1
 * refuses a chain with a SHA-1 signature ("CA signature digest algorithm too weak"), RSA keys
 * below 1024 bits, and TLS 1.0/1.1 (Node's minVersion is TLSv1.2, and OpenSSL 3 allows TLS < 1.2
 * only at level 0). It accepts RSA 1024. Level 0 lifts all of these for the one connection that
 * asks; whoever uses these contexts checks chain, names and dates itself (certs/audit) or pins
 * the leaf the audit checked (proxy/engine/upstream/pinned-tls.ts).
 */
import tls from 'node:tls';

/** OpenSSL's DEFAULT list at security level 0: ECDHE first, then the rest, weak ones included. */
export const LENIENT_CIPHERS = 'DEFAULT:@SECLEVEL=0';

const contexts = new Map<string, tls.SecureContext>();

/**
 * A context with an empty trust store (`ca: []`): verification is the caller's, and Node's
 * `getPeerCertificate(true)` then adds no issuer from a local store, so the chain it returns is
 * the one the server sent. `any`: TLS 1.0 to 1.3; `tls12`: TLS 1.2 only.
 */
export function lenientContext(versions: 'any' | 'tls12' = 'any'): tls.SecureContext {
  let ctx = contexts.get(versions);
  if (!ctx) {
    ctx = tls.createSecureContext({
      ca: [], ciphers: LENIENT_CIPHERS,
      minVersion: versions === 'any' ? 'TLSv1' : 'TLSv1.2', maxVersion: versions === 'any' ? 'TLSv1.3' : 'TLSv1.2',
    });
    contexts.set(versions, ctx);
  }
  return ctx;
}
