/**
 * The probe: two TLS handshakes with an upstream, in parallel, each with SNI = the name and the
 * lenient context (weak crypto must not stop it); in the proxy, the first is its own forwarding
 * connection's when that one passed strict verification (`probe`'s `forwarding`). One offers TLS 1.0 to 1.3 and shows what the
 * server does at its best; one offers TLS 1.2 alone, the best older Android has (docs/tls-audit.md
 * `tls-no-tls12`: the server must accept it). Nothing is verified here: the probe records what
 * the server sent.
 */
import type { X509Certificate } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { lenientContext } from './lenient.js';

/** A longer chain is cut here: no server sends one, and a loop must end. */
const MAX_CHAIN = 16;

/** docs/rules.md: each host bounded to 10 s. */
export const AUDIT_TIMEOUT_MS = 10_000;

/** Where the probe connects for `host:port` (after `upstream.hosts`), with the lookup that refuses the proxy itself. */
export interface ProbeTarget {
  host: string;
  port: number;
  connect: { host: string; port: number; lookup?: LookupFunction };
  /**
   * Opens a tunnel to `host:port` through the upstream proxy (docs/upstream-proxy.md) when the
   * host does not go direct: the handshake then runs on it, with the same SNI and context.
   */
  tunnel?: () => Promise<Duplex>;
  /** Set when the route itself is refused (the proxy's own port). */
  refused?: Error;
}

export interface Handshake {
  ok: true;
  protocol: string;
  /** OpenSSL's name, as `openssl s_client` prints it. */
  cipher: string;
  /**
   * The certificates the server sent, leaf first, in issuing order. Empty for the TLS 1.2
   * handshake when the forwarding connection's was shown (only its success is judged then).
   */
  sent: X509Certificate[];
  leafFingerprint256: string;
  /**
   * The protocol the server chose from the probe's ALPN offer (`h2`, `http/1.1`; RFC 7301): set by
   * the probe's own handshakes, which offer both, not by the forwarding connection's.
   */
  alpn?: string;
}

export interface ProbeFailure {
  ok: false;
  /** `connect`: no TCP connection; `handshake`: TCP, but no TLS; `timeout`; `aborted`: nobody wanted it any more. */
  stage: 'connect' | 'handshake' | 'timeout' | 'aborted';
  message: string;
}

export interface ProbeResult { best: Handshake | ProbeFailure; tls12: Handshake | ProbeFailure }

/**
 * `signal` aborts both handshakes at once (their sockets destroyed): the result is then two
 * `aborted` failures. `forwarding`: the handshake of the proxy's own connection to the host,
 * opened at tunnel open (proxy/engine/upstream/pools.ts `preconnect`), when there is one. It stands in for the
 * best-version handshake, so a new host costs one handshake less: its chain, names and dates are
 * what the audit judges, and only the TLS 1.2 handshake runs beside it. When it failed (strict
 * verification refused the chain, or the server offers only TLS < 1.2) the probe's own lenient
 * handshake runs instead, as the forwarding connection's failure tells nothing about what the
 * server sent.
 */
export async function probe(target: ProbeTarget, timeoutMs = AUDIT_TIMEOUT_MS, signal?: AbortSignal, forwarding?: Promise<Handshake | undefined>): Promise<ProbeResult> {
  if (target.refused) {
    const failure: ProbeFailure = { ok: false, stage: 'connect', message: target.refused.message };
    return { best: failure, tls12: failure };
  }
  let forwarded: Handshake | undefined;
  const best = async () => (forwarded = forwarding && await untilAborted(forwarding, signal)) || handshake(target, lenientContext('any'), timeoutMs, signal);
  // Once the forwarding handshake is shown, only whether TLS 1.2 is accepted matters: its chain is not read.
  const [b, tls12] = await Promise.all([best(), handshake(target, lenientContext('tls12'), timeoutMs, signal, () => forwarded === undefined)]);
  return { best: b, tls12 };
}

/**
 * What a finished handshake shows: protocol, cipher and the chain the server sent. Undefined for
 * a resumed session or no certificate (nothing to judge). Call it once per socket, at
 * 'secureConnect': Node's client-side getPeerX509Certificate takes the leaf out of the peer
 * chain, so a second call sees none.
 */
export function handshakeOf(socket: tls.TLSSocket): Handshake | undefined {
  if (socket.isSessionReused()) return undefined;
  const sent = sentChain(socket);
  if (sent.length === 0) return undefined;
  return { ok: true, protocol: socket.getProtocol() ?? 'unknown', cipher: socket.getCipher()?.name ?? 'unknown', sent, leafFingerprint256: sent[0]!.fingerprint256 };
}

/** `p`, or undefined as soon as `signal` aborts. */
function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
  if (!signal) return p;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => { signal.removeEventListener('abort', onAbort); resolve(v); });
  });
}

async function handshake(target: ProbeTarget, secureContext: tls.SecureContext, timeoutMs: number, signal?: AbortSignal, needChain = () => true): Promise<Handshake | ProbeFailure> {
  const started = Date.now();
  let tunnel: Duplex | undefined;
  if (target.tunnel && !signal?.aborted) {
    // The upstream proxy's refusal or silence is a connect failure; its message names no credentials.
    const opened = await untilAborted(target.tunnel().then((s) => s, (err: Error) => err), signal);
    if (opened === undefined) return { ok: false, stage: 'aborted', message: 'the audit was cancelled' };
    if (opened instanceof Error) return { ok: false, stage: 'connect', message: opened.message };
    tunnel = opened;
    if (signal?.aborted) { tunnel.destroy(); return { ok: false, stage: 'aborted', message: 'the audit was cancelled' }; }
  }
  return new Promise((resolve) => {
    if (signal?.aborted) { resolve({ ok: false, stage: 'aborted', message: 'the audit was cancelled' }); return; }
    let connected = tunnel !== undefined;
    tunnel?.on('error', () => undefined);
    const socket = tls.connect({
      ...target.connect,
      socket: tunnel,
      servername: net.isIP(target.host) ? undefined : target.host,
      secureContext,
      rejectUnauthorized: false,
      // Whether the origin accepts HTTP/2 (the health report's `http2` row): no cost, the offer rides in the hello.
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    const left = Math.max(0, timeoutMs - (Date.now() - started));
    const timer = setTimeout(() => finish({ ok: false, stage: 'timeout', message: `no TLS handshake within ${timeoutMs / 1000} s` }), left);
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
      const alpn = socket.alpnProtocol || 'http/1.1';
      if (!needChain()) { finish({ ok: true, protocol: socket.getProtocol() ?? 'unknown', cipher: socket.getCipher()?.name ?? 'unknown', sent: [], leafFingerprint256: '', alpn }); return; }
      const shown = handshakeOf(socket);
      finish(shown ? { ...shown, alpn } : { ok: false, stage: 'handshake', message: 'the server sent no certificate' });
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
