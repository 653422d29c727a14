/**
 * CONNECT (docs/architecture.md step 2, docs/rules.md "Blocking happens inside the tunnel"): validate the target, tunnel
 * passthrough hosts, and intercept every other one: answer 200, then look at the first byte. A TLS
 * ClientHello is terminated with a leaf minted for the SNI name (else the CONNECT host); plain
 * HTTP (ws:// through a CONNECT-only client) is read as it is. Either way the requests inside go
 * to the inner http.Server, which never listens (mockttp's shape: no second port, no extra hop).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { ProxyContext } from '../context.js';
import { isValidHost, normalizeHost, normalizeIp, splitHostPort } from '../../config/net-address.js';
import { helloServerName, MAX_CLIENT_HELLO } from './client-hello.js';
import type { LeafKeyType } from '../../certs/store.js';
import { writeRawAnswer } from '../flow/respond.js';
import { tunnelRaw } from './tunnel.js';
import { onTunnel } from '../rules/pipeline.js';

import type { TunnelInfo } from './tunnel-info.js';

/** What the requests inside a tunnel inherit from its CONNECT (a leaf module, proxy/engine/tunnel-info.ts). */
export type { TunnelInfo };

const tunnels = new WeakMap<Duplex, TunnelInfo>();

/** The HTTP/2 front end (proxy/engine/h2-front.ts): takes a client TLS connection that negotiated `h2`. */
export interface H2Acceptor {
  accept(socket: tls.TLSSocket, info: TunnelInfo): void;
}

/**
 * How long a client offering h2 waits, at most, for the origin's own handshake to tell whether the
 * origin speaks h2. Past it the client is offered HTTP/1.1 only: a slow origin costs no more than
 * its handshake, bounded.
 */
const ORIGIN_ALPN_WAIT_MS = 3000;

export function tunnelOf(socket: Duplex): TunnelInfo | undefined {
  return tunnels.get(socket);
}

/** Hands `socket` to `inner` as a tunnel to `info`'s host (replay: proxy/engine/replay.ts). */
export function openTunnel(inner: { emit(event: 'connection', s: Duplex): boolean }, socket: Duplex, info: TunnelInfo): void {
  tunnels.set(socket, info);
  inner.emit('connection', socket);
}

const TLS_HANDSHAKE_RECORD = 0x16;
/** A client that opens a tunnel and says nothing is dropped after this long. */
const FIRST_BYTE_TIMEOUT_MS = 30_000;
/**
 * A TLS handshake inside a tunnel that has not finished by then (a ClientHello that stopped half
 * way) is closed. Idle keep-alive connections after a finished handshake are not bounded by it:
 * phones keep those open for minutes.
 */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export function isPassthrough(ctx: ProxyContext, host: string): boolean {
  if (ctx.config.passthroughExact.has(host)) return true;
  return ctx.config.passthroughSuffixes.some((suffix) => host.endsWith(suffix));
}

export function handleConnect(ctx: ProxyContext, inner: Server, req: IncomingMessage, socket: Duplex, head: Buffer, h2?: H2Acceptor): void {
  const client = normalizeIp(req.socket.remoteAddress ?? '');
  const target = splitHostPort(req.url ?? '');
  if (!target || target.port === undefined || !isValidHost(target.host)) {
    ctx.log.warn({ client, target: req.url }, 'invalid CONNECT target');
    writeRawAnswer(socket, 400, {}, `mgproxy: CONNECT needs host:port, with a host name or IP and a port from 1 to 65535; got ${JSON.stringify(req.url)}\n`);
    return;
  }
  const host = normalizeHost(target.host);
  const port = target.port;
  if (isPassthrough(ctx, host)) {
    tunnelRaw(ctx, socket, head, host, port, client);
    return;
  }
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length > 0) socket.unshift(head);
  sniff(socket, (first) => {
    if (first === TLS_HANDSHAKE_RECORD) {
      interceptTls(ctx, { http1: inner, h2 }, socket, { host, port, client, secure: true }, prepare(ctx, socket, host, port));
    }
    else if (first >= 0x41 && first <= 0x5a) {
      // An HTTP method: plain HTTP inside the tunnel (the rules flag it as insecure-scheme).
      tunnels.set(socket, { host, port, client, secure: false });
      inner.emit('connection', socket);
      // Paused while sniffing; a 'data' listener does not resume an explicitly paused stream.
      socket.resume();
    } else {
      ctx.log.warn({ client, host, port, firstByte: first }, 'tunnel carries neither TLS nor HTTP; closed');
      socket.destroy();
    }
  });
}

/**
 * While the client's TLS handshake runs (a certificate minted, a signature made), what its first
 * request will need is started for a host the rules do not refuse outright: a connection to the
 * upstream, and the TLS audit, which judges that connection's own handshake and adds only a TLS 1.2
 * one beside it. A new host then costs about one handshake more than direct, not
 * three in a row. A refused host is never contacted. Returns what gives the upstream
 * connection back when the client leaves before its handshake finished. The audit is per host and
 * shared: this tunnel holds it until it closes, and when every tunnel (and request) waiting for it
 * has gone before it finished, it is stopped at once and the next tunnel starts afresh.
 */
function prepare(ctx: ProxyContext, socket: Duplex, host: string, port: number): Prepared {
  let release = () => undefined as void;
  const leave = onTunnel(ctx, host, port, () => { release = ctx.upstream.preconnect(host, port); });
  if (!leave) return { release, refused: true };
  socket.once('close', leave);
  return { release: () => release(), refused: false };
}

interface Prepared {
  /** Gives the upstream connection opened ahead back (the client left before its handshake finished). */
  release: () => void;
  /** The rules refuse the host before any upstream contact: no upstream connection, and no h2 offered. */
  refused: boolean;
}

/**
 * The ALPN protocols offered to the client: `h2` first exactly when the client offers it and the
 * origin negotiated it with the proxy, `http/1.1` always (docs/http2.md). The origin's answer comes
 * from the connection opened ahead (prepare), whose handshake runs while the ClientHello is read
 * and the leaf minted; a host the rules refuse is never contacted, so it is offered HTTP/1.1 only.
 *
 * Node 20 has `ALPNCallback` (20.12+), but it is synchronous, run inside the handshake, so it
 * could not wait for the origin; the ClientHello is read ahead here anyway (client-hello.ts), so
 * the TLS socket is made once the answer is known and a per-socket `ALPNProtocols` list suffices.
 */
function alpnOffer(ctx: ProxyContext, info: TunnelInfo, prepared: Prepared, clientOffersH2: boolean, h2: H2Acceptor | undefined): Promise<string[]> | string[] {
  if (!h2 || !clientOffersH2 || prepared.refused) return HTTP1_ONLY;
  const known = ctx.upstream.originAlpn(info.host, info.port);
  if (known === undefined || typeof known === 'string') return known === 'h2' ? H2_AND_HTTP1 : HTTP1_ONLY;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => { timer = setTimeout(resolve, ORIGIN_ALPN_WAIT_MS, undefined); });
  return Promise.race([known, late]).then((alpn) => {
    clearTimeout(timer);
    return alpn === 'h2' ? H2_AND_HTTP1 : HTTP1_ONLY;
  });
}

const HTTP1_ONLY = ['http/1.1'];
const H2_AND_HTTP1 = ['h2', 'http/1.1'];

/** Where a client's TLS connection goes once it is secure: HTTP/1.1 to the inner server, h2 to the h2 front end. */
interface FrontEnds {
  http1: Server;
  h2?: H2Acceptor;
}

/**
 * Waits for the first byte without consuming it: it is pushed back for TLS or the HTTP parser. A
 * client that leaves first (FIN: the outer server's sockets are half-open, so nothing else would
 * close it) is destroyed at once.
 */
function sniff(socket: Duplex, then: (first: number) => void): void {
  const timer = setTimeout(() => socket.destroy(), FIRST_BYTE_TIMEOUT_MS);
  const onData = (chunk: Buffer) => {
    if (chunk.length === 0) return;
    done();
    socket.pause();
    socket.unshift(chunk);
    then(chunk[0]!);
  };
  const onEnd = () => { done(); socket.destroy(); };
  const done = () => {
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('close', done);
  };
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', done);
}

/** What the ClientHello read ahead tells (proxy/engine/client-hello.ts). */
interface Hello {
  /** The server name: a string, `undefined` when the client sent none, `null` when the hello could not be read ahead. */
  sni: string | undefined | null;
  offersH2: boolean;
  /** The leaf this client gets: the P-256 one when it offers ECDSA, else the RSA one. */
  key: LeafKeyType;
}

/**
 * Collects, without consuming them, the bytes of the ClientHello, and tells what it offers. A hello
 * that cannot be read whole ahead is left to TLS: its name then comes through SNICallback. The
 * caller bounds it in time and handles the client leaving.
 */
function readHello(socket: Duplex, then: (hello: Hello) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    const hello = helloServerName(chunks.length === 1 ? chunk : Buffer.concat(chunks, size));
    if (hello.kind === 'partial' && size < MAX_CLIENT_HELLO) return;
    socket.removeListener('data', onData);
    socket.pause();
    socket.unshift(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    // A hello that cannot be read ahead is offered HTTP/1.1 only, and the RSA leaf, which every
    // client takes (TLS 1.3 clients must, RFC 8446 §9.1; TLS 1.2 ones offer RSA suites).
    if (hello.kind !== 'done') { then({ sni: null, offersH2: false, key: 'rsa' }); return; }
    then({ sni: hello.name, offersH2: hello.offersH2 === true, key: hello.offersEcdsa ? 'ec' : 'rsa' });
  };
  socket.on('data', onData);
  socket.resume();
}

/** Clients that refused our certificate, told once each: the usual cause is a CA not installed or not trusted. */
const warnedRefusals = new Set<string>();

function interceptTls(ctx: ProxyContext, fronts: FrontEnds, socket: Duplex, info: TunnelInfo, prepared: Prepared): void {
  const { release } = prepared;
  // Until the handshake finishes, a client that leaves (FIN or reset) takes everything with it: its
  // socket, at once, and the upstream connection opened ahead for it. A FIN that comes while the
  // ClientHello is read or the certificate minted reaches the raw socket; one that comes later,
  // the TLS socket: on Node 20 TLSWrap hands the EOF to it as 'end' (a reset as 'error') also while
  // the handshake is under way, after the ServerHello (tunnel-sockets test 'clients that leave …
  // after the ServerHello').
  let secure = false;
  let tlsSocket: tls.TLSSocket | undefined;
  const handshake = setTimeout(() => {
    ctx.log.debug({ client: info.client, host: info.host, timeoutMs: TLS_HANDSHAKE_TIMEOUT_MS }, 'TLS handshake with client did not finish in time; closed');
    abandon();
  }, TLS_HANDSHAKE_TIMEOUT_MS);
  const abandon = () => {
    if (secure) return;
    clearTimeout(handshake);
    socket.destroy();
    tlsSocket?.destroy();
    release();
  };
  socket.once('end', abandon);
  socket.once('close', abandon);
  readHello(socket, ({ sni, offersH2, key: keyType }) => {
    // The leaf is for the SNI name, else the CONNECT host, of the key type the client offers.
    const leafHost = sni ? normalizeHost(sni) : info.host;
    Promise.all([ctx.certs.context(leafHost, keyType), alpnOffer(ctx, info, prepared, offersH2, fronts.h2)]).then(([secureContext, ALPNProtocols]) => {
      if (socket.destroyed || socket.readableEnded) { abandon(); return; }
      const s = tlsSocket = new tls.TLSSocket(socket, {
        isServer: true,
        secureContext,
        ALPNProtocols,
        // Only for a ClientHello that could not be read ahead: it then gets the RSA leaf of the
        // right name (a context holds one leaf, so SNICallback's switch replaces it whole).
        ...(sni === null ? {
          SNICallback: (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => {
            const name = normalizeHost(servername);
            if (name === info.host) { cb(null, secureContext); return; }
            ctx.certs.context(name, keyType).then((c) => cb(null, c), (err: Error) => cb(err, undefined));
          },
        } : {}),
      });
      s.on('error', (err: NodeJS.ErrnoException) => {
        const key = `${info.client} ${info.host}`;
        if (/ALERT|alert/.test(err.message) && !warnedRefusals.has(key) && warnedRefusals.size < 10_000) {
          warnedRefusals.add(key);
          ctx.log.warn({ client: info.client, host: info.host, error: { code: err.code, message: err.message } },
            'the client refused mgproxy\'s certificate: install and trust the CA (mgproxy ca) on that device');
        } else {
          ctx.log.debug({ client: info.client, host: info.host, error: { code: err.code, message: err.message } }, 'TLS with client failed');
        }
        s.destroy();
      });
      s.once('end', () => { if (!secure) s.destroy(); });
      s.once('close', abandon);
      tunnels.set(s, info);
      if (ALPNProtocols === HTTP1_ONLY) {
        s.once('secure', () => { secure = true; clearTimeout(handshake); });
        fronts.http1.emit('connection', s);
        return;
      }
      // h2 offered: which front end reads this connection is known once the handshake chose.
      s.once('secure', () => {
        secure = true;
        clearTimeout(handshake);
        if (s.alpnProtocol === 'h2') fronts.h2!.accept(s, info);
        else fronts.http1.emit('connection', s);
      });
    }, (err: Error) => {
      ctx.log.error({ host: info.host, error: { message: err.message } }, 'cannot mint a certificate');
      abandon();
    });
  });
}
