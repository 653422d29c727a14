/**
 * The probe: two TLS handshakes with an upstream, in parallel, each with SNI = the name and the
 * lenient context (weak crypto must not stop it). One offers TLS 1.0 to 1.3 and shows what the
 * server does at its best; one offers TLS 1.2 alone, the best older Android has (SPEC §5
 * `tls-no-tls12`: the server must accept it). Nothing is verified here: the probe records what
 * the server sent.
 */
import type { X509Certificate } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import net from 'node:net';
import tls from 'node:tls';
import { lenientContext } from './lenient.js';

/** A longer chain is cut here: no server sends one, and a loop must end. */
const MAX_CHAIN = 16;

/** SPEC §10: each host bounded to 10 s. */
export const AUDIT_TIMEOUT_MS = 10_000;

/** Where the probe connects for `host:port` (after `upstream.hosts`), with the lookup that refuses the proxy itself. */
export interface ProbeTarget {
  host: string;
  port: number;
  connect: { host: string; port: number; lookup?: LookupFunction };
  /** Set when the route itself is refused (the proxy's own port). */
  refused?: Error;
}

export interface Handshake {
  ok: true;
  protocol: string;
  /** OpenSSL's name, as `openssl s_client` prints it. */
  cipher: string;
  /** The certificates the server sent, leaf first, in issuing order. */
  sent: X509Certificate[];
  leafFingerprint256: string;
}

export interface ProbeFailure {
  ok: false;
  /** `connect`: no TCP connection; `handshake`: TCP, but no TLS; `timeout`; `aborted`: nobody wanted it any more. */
  stage: 'connect' | 'handshake' | 'timeout' | 'aborted';
  message: string;
}

export interface ProbeResult { best: Handshake | ProbeFailure; tls12: Handshake | ProbeFailure }

/** `signal` aborts both handshakes at once (their sockets destroyed): the result is then two `aborted` failures. */
export async function probe(target: ProbeTarget, timeoutMs = AUDIT_TIMEOUT_MS, signal?: AbortSignal): Promise<ProbeResult> {
  if (target.refused) {
    const failure: ProbeFailure = { ok: false, stage: 'connect', message: target.refused.message };
    return { best: failure, tls12: failure };
  }
  const [best, tls12] = await Promise.all([
    handshake(target, lenientContext('any'), timeoutMs, signal),
    handshake(target, lenientContext('tls12'), timeoutMs, signal),
  ]);
  return { best, tls12 };
}

function handshake(target: ProbeTarget, secureContext: tls.SecureContext, timeoutMs: number, signal?: AbortSignal): Promise<Handshake | ProbeFailure> {
  return new Promise((resolve) => {
    if (signal?.aborted) { resolve({ ok: false, stage: 'aborted', message: 'the audit was cancelled' }); return; }
    let connected = false;
    const socket = tls.connect({
      ...target.connect,
      servername: net.isIP(target.host) ? undefined : target.host,
      secureContext,
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => finish({ ok: false, stage: 'timeout', message: `no TLS handshake within ${timeoutMs / 1000} s` }), timeoutMs);
    const onAbort = () => finish({ ok: false, stage: 'aborted', message: 'the audit was cancelled' });
    signal?.addEventListener('abort', onAbort, { once: true });
    function finish(result: Handshake | ProbeFailure): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(result);
    }
    function onError(err: NodeJS.ErrnoException & { reason?: string }): void {
      // OpenSSL's errors carry a short `reason` ("tlsv1 alert protocol version") beside a long message.
      const text = err.reason ?? err.message.trim().split('\n')[0];
      finish({ ok: false, stage: connected ? 'handshake' : 'connect', message: err.code ? `${err.code} (${text})` : text });
    }
    socket.on('error', onError);
    socket.once('connect', () => { connected = true; });
    socket.once('secureConnect', () => {
      const sent = sentChain(socket);
      if (sent.length === 0) finish({ ok: false, stage: 'handshake', message: 'the server sent no certificate' });
      else finish({ ok: true, protocol: socket.getProtocol() ?? 'unknown', cipher: socket.getCipher()?.name ?? 'unknown', sent, leafFingerprint256: sent[0]!.fingerprint256 });
    });
  });
}

/**
 * The certificates the server sent, leaf first: Node links the peer's certificates leaf → issuer
 * (`issuerCertificate`) and would append issuers from the context's store, which is empty here,
 * so nothing is added that the server did not send. A certificate sent but issuing nothing in the
 * chain is left out by Node, which is what the audit judges anyway. (The X509Certificate objects
 * come straight from the handshake: no DER is parsed twice.)
 */
function sentChain(socket: tls.TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let cert: X509Certificate | undefined = socket.getPeerX509Certificate();
  while (cert && !seen.has(cert.fingerprint256) && out.length < MAX_CHAIN) {
    seen.add(cert.fingerprint256);
    out.push(cert);
    cert = cert.issuerCertificate;
  }
  return out;
}
