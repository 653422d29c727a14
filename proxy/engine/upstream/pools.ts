/**
 * Connections to upstreams: one undici `Pool` per route (scheme, name, port, TLS mode) with
 * keep-alive; `upstream.hosts` routing in the pools' `connect` (curl's `--resolve`: connect to the
 * mapped address, keep the name for SNI, Host and certificate checks); strict verification against
 * Node's roots plus `extraCaFiles`; the relaxed and pinned connector for hosts the audit let through
 * (proxy/engine/upstream/pinned-tls.ts); connections opened ahead at tunnel open; and the guard that stops the
 * proxy from connecting to itself (docs/architecture.md).
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import tls from 'node:tls';
import type { Pool } from 'undici';
import type { RuntimeConfig } from '../../../config/load.js';
import { formatHost, ipFamily } from '../../../config/net-address.js';
import { type Handshake, handshakeOf } from '../../../certs/audit/probe.js';
import { connectPinned } from './pinned-tls.js';
import { OriginAlpn } from './origin-alpn.js';
import { bypassesProxy, type UpstreamProxy } from '../../../config/upstream-proxy.js';
import { connectVia } from './chain.js';
import { LoopError, LoopGuard } from './loop-guard.js';
import { type ConnectCallback, CONNECT_TIMEOUT_MS, ConnectTimeoutError, handOver, settleConnect } from './settle-connect.js';

export { LoopError };

let undici: typeof import('undici') | undefined;
/**
 * undici, loaded by the first request or soon after the ready line (`warm`), whichever comes
 * first: loading it is a third of a start (~60 ms), and a CONNECT is answered without it.
 */
const loadUndici = () => (undici ??= createRequire(import.meta.url)('undici') as typeof import('undici'));
/** How long after the ready line undici is loaded if no request needed it sooner. */
const UNDICI_WARM_DELAY_MS = 300;


/** A response head may be large (cookies, CSPs); undici's default of 16 KiB would refuse it. */
export const MAX_RESPONSE_HEADER_BYTES = 256 * 1024;
/**
 * Idle upstream sockets are dropped before Node servers' default 5 s keep-alive timeout, so a
 * request never goes out on a socket the server is closing (undici also honours `Keep-Alive: timeout`).
 */
const IDLE_UPSTREAM_SOCKET_MS = 4000;
/** Connections per route, as Node's agent allowed per host before. */
const CONNECTIONS_PER_ROUTE = 256;
/** Routes kept; past this the least recently created pool is closed (its requests still finish). */
const MAX_POOLS = 1024;
/** A connection opened ahead of its request is dropped after this long unused. */
const PRECONNECT_IDLE_MS = 10_000;
/** At most this many connections opened ahead at once (a client opening tunnels to many hosts). */
const PRECONNECT_MAX = 256;

/** How a route's TLS is checked: strict, pinned to the audited leaf, any leaf (`skipVerification`), or no TLS. */
type TlsMode = { kind: 'strict' } | { kind: 'pinned'; pin?: string } | { kind: 'plain' };

/**
 * ALPN offered upstream (docs/http2.md): h2 first, so the connection opened ahead tells which
 * protocol the origin speaks, and an origin that speaks only h2 is reached whatever the client
 * speaks (`--http2 off` is about the client's side); HTTP/1.1 only for WebSocket upgrades (RFC
 * 8441's extended CONNECT is not used).
 */
const ALPN_H2 = ['h2', 'http/1.1'];
const ALPN_H1 = ['http/1.1'];
/** Origins whose negotiated ALPN is remembered (the client-side ALPN offer of later tunnels reads it). */
const MAX_ALPN_KNOWN = 4096;

function poolKey(mode: TlsMode, name: string, port: number, h2 = true): string {
  return `${mode.kind === 'pinned' ? `pinned:${mode.pin ?? '*'}` : mode.kind} ${name} ${port}${h2 ? '' : ' h1'}`;
}

interface Ahead {
  socket: tls.TLSSocket;
  ready: boolean;
  timer: NodeJS.Timeout;
  drop: () => void;
  fail: (err: Error) => void;
  holders: number;
  /** What its handshake showed, for the TLS audit; undefined when it failed (verification included). */
  handshake: Promise<Handshake | undefined>;
}

/**
 * One more tunnel waits for the connection opened ahead. Its release (once: the client left before
 * its handshake finished, proxy/engine/connect.ts) drops the connection when no waiting tunnel is left.
 */
function holdAhead(ahead: Map<string, Ahead>, key: string, entry: Ahead): () => void {
  entry.holders++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--entry.holders === 0 && ahead.get(key) === entry) entry.drop();
  };
}

export class Upstream {
  /** `name:port` → SHA-256 fingerprint of the leaf the TLS audit checked (proxy/rules/tls-audit.ts). */
  private readonly pins = new Map<string, string>();
  private readonly pools = new Map<string, Pool>();
  /** `name:port` → one verified connection opened ahead, handed to the first connect of its pool. */
  private readonly ahead = new Map<string, Ahead>();
  /** `name:port` whose connection opened ahead failed: not tried ahead again. */
  private readonly failedAhead = new Set<string>();
  /** Strict TLS sessions by `name:port`, so a second connection resumes instead of a full handshake. */
  private readonly sessions = new Map<string, Buffer>();
  /** What each origin answered to an ALPN offer with `h2` (the health report's `http2` row). */
  readonly origins = new OriginAlpn();
  /** `name:port` → the ALPN its last connection offering h2 negotiated (`h2` or `http/1.1`). */
  private readonly alpnKnown = new Map<string, string>();

  /** The proxy's own addresses and ports, which no upstream connection may reach. */
  private readonly loop = new LoopGuard();
  /** The proxy's own ports (proxy and admin), filled in once they listen. */
  readonly ownPorts = this.loop.ownPorts;

  constructor(private readonly config: RuntimeConfig) {}

  /** The loop error for a route to an IP literal; names are checked when they resolve. */
  loopCheck(route: { host: string; port: number }): LoopError | undefined {
    return this.loop.check(route);
  }

  private trustContext?: tls.SecureContext;

  /** Loads what forwarding needs, soon, off the first moments after start (when the first CONNECTs come). */
  warm(): void {
    setTimeout(() => {
      loadUndici();
      // The roots context too (~20 ms): the first new host's connection would pay for it.
      void this.trust;
    }, UNDICI_WARM_DELAY_MS).unref();
  }

  /**
   * Node's roots plus `extraCaFiles`, parsed once and shared by every upstream connection. Built
   * on first use or by `warm`, not at start: parsing some 140 roots takes ~20 ms, a seventh of a start.
   */
  get trust(): tls.SecureContext {
    return (this.trustContext ??= tls.createSecureContext({ ca: [...tls.rootCertificates, ...this.config.extraCas.map((c) => c.pem)] }));
  }

  /** Where a connection for `name:port` goes: `name:port` in `upstream.hosts` wins over `name`. */
  route(name: string, port: number): { host: string; port: number } {
    const mapped = this.config.hostMap.get(`${name}:${port}`) ?? this.config.hostMap.get(name);
    return mapped ? { host: mapped.host, port: mapped.port ?? port } : { host: name, port };
  }

  /** Later connections to `name:port` skip strict verification but must present this leaf (proxy/engine/upstream/pinned-tls.ts). */
  pin(name: string, port: number, fingerprint256: string): void {
    this.pins.set(`${name}:${port}`, fingerprint256);
  }

  /** Strict verification (undefined), or lenient and pinned to the audited leaf, or lenient with no pin (`skipVerification`). */
  lenientTls(name: string, port: number): { pin?: string } | undefined {
    if (this.config.skipVerification) return {};
    const pin = this.pins.get(`${name}:${port}`);
    return pin === undefined ? undefined : { pin };
  }

  /**
   * The pool for `name:port` over TLS or plain TCP, in the TLS mode the audit left the host in.
   * A pinned host gets a pool of its own: a strict pool's connections never serve it and back.
   */
  dispatcher(secure: boolean, name: string, port: number, allowH2 = true): Pool {
    const lenient = secure ? this.lenientTls(name, port) : undefined;
    const mode: TlsMode = !secure ? { kind: 'plain' } : lenient ? { kind: 'pinned', pin: lenient.pin } : { kind: 'strict' };
    const h2 = secure && allowH2;
    const key = poolKey(mode, name, port, h2);
    let pool = this.pools.get(key);
    if (pool) return pool;
    if (this.pools.size >= MAX_POOLS) {
      const [oldKey, old] = this.pools.entries().next().value as [string, Pool];
      this.pools.delete(oldKey);
      old.close().catch(() => undefined);
    }
    pool = new (loadUndici().Pool)(`${secure ? 'https' : 'http'}://${formatHost(name)}:${port}`, {
      connect: (_opts, callback) => this.connect(mode, name, port, h2, callback as ConnectCallback),
      connections: CONNECTIONS_PER_ROUTE,
      // undici speaks h2 on a connection whose ALPN says so (its `socket.alpnProtocol`), else HTTP/1.1.
      allowH2: h2,
      keepAliveTimeout: IDLE_UPSTREAM_SOCKET_MS,
      // The rules' timeouts (docs/rules.md `timeout`) are the only clock on an exchange.
      headersTimeout: 0,
      bodyTimeout: 0,
      maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
    });
    // A pool emits 'connectionError' and 'disconnect' as information; requests get their own errors.
    pool.on('connectionError', () => undefined);
    this.pools.set(key, pool);
    return pool;
  }

  /**
   * The connector of every pool: routed, loop-guarded, verified as `mode` says, bounded in time.
   * Through the upstream proxy, the tunnel is opened first and the same TLS runs on it (`tunnel`).
   */
  private connect(mode: TlsMode, name: string, port: number, h2: boolean, callback: ConnectCallback, tunnel?: net.Socket): void {
    const key = `${name}:${port}`;
    // A connection opened ahead is strict: a pinned route takes it only once its handshake has
    // passed (the pin stands in for strict checks); one still handshaking with a chain only the
    // pinned path accepts would fail the request (the weak-signature hosts of docs/rules.md). An
    // HTTP/1.1-only pool (WebSocket upgrades) takes it only when it did not negotiate h2.
    const taken = mode.kind === 'plain' ? undefined : this.takeAhead(key, mode.kind === 'strict' && h2, h2);
    if (taken) { handOver(taken.socket, taken.ready, callback); return; }
    const loop = this.loopCheck(this.route(name, port));
    // undici's connect must not call back synchronously (its client would stall).
    if (loop) { process.nextTick(callback, loop, null); return; }
    const via = tunnel ? undefined : this.viaProxy(name, port);
    if (via) {
      connectVia(via, name, port).then((s) => this.connect(mode, name, port, h2, callback, s), (err: Error) => callback(err, null));
      return;
    }
    if (tunnel && mode.kind === 'plain') { callback(null, tunnel); return; }
    // The TLS socket on top carries the tunnel's errors to the request.
    tunnel?.on('error', () => undefined);
    if (mode.kind === 'plain') {
      const socket = net.connect(this.connectOptions(name, port));
      socket.setNoDelay(true);
      settleConnect(socket, 'connect', callback);
      return;
    }
    if (mode.kind === 'pinned') {
      let settled = false;
      const socket = connectPinned({ ...this.tlsOptions(name, port, h2), socket: tunnel }, mode.pin, (err, s) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) { s.destroy(); callback(err, null); return; }
        if (h2) this.learnAlpn(key, s);
        callback(null, s);
      });
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new ConnectTimeoutError(`no connection within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      return;
    }
    const socket = this.connectStrict(name, port, h2, tunnel);
    if (h2) socket.once('secureConnect', () => this.learnAlpn(key, socket));
    settleConnect(socket, 'secureConnect', callback);
  }

  /** The upstream proxy a connection to `name:port` goes through; undefined when it goes direct (`upstream.noProxy`, `upstream.hosts`). */
  viaProxy(name: string, port: number): UpstreamProxy | undefined {
    const { upstreamProxy, noProxy, hostMap } = this.config;
    if (!upstreamProxy || bypassesProxy(noProxy, name) || hostMap.has(`${name}:${port}`) || hostMap.has(name)) return undefined;
    return upstreamProxy;
  }

  /** What opens the tunnel to `name:port` when it goes through the upstream proxy (the TLS audit's probes, passthrough tunnels). */
  tunnel(name: string, port: number): (() => Promise<net.Socket>) | undefined {
    const via = this.viaProxy(name, port);
    return via && (() => connectVia(via, name, port));
  }

  /** TLS options shared by strict and pinned connections: routed, SNI = the name, h2 offered when `h2`. */
  private tlsOptions(name: string, port: number, h2: boolean): tls.ConnectionOptions {
    return {
      ...this.connectOptions(name, port),
      servername: ipFamily(name) ? undefined : name,
      ALPNProtocols: h2 ? ALPN_H2 : ALPN_H1,
    } as tls.ConnectionOptions;
  }

  /** Remembers what a connection that offered h2 negotiated with `key`'s origin. */
  private learnAlpn(key: string, socket: tls.TLSSocket): void {
    const alpn = socket.alpnProtocol || 'http/1.1';
    this.origins.noteOrigin(key, alpn);
    if (this.alpnKnown.get(key) === alpn) return;
    if (this.alpnKnown.size >= MAX_ALPN_KNOWN) this.alpnKnown.delete(this.alpnKnown.keys().next().value!);
    this.alpnKnown.set(key, alpn);
  }

  /**
   * The protocol the origin `name:port` negotiated with the proxy (`h2` or `http/1.1`): known from
   * an earlier connection, or a promise of the handshake of the connection opened ahead for this
   * tunnel (proxy/engine/connect.ts offers the client h2 only on `h2`); undefined when no
   * connection tells (HTTP/2 off, a host never connected, one opened ahead that failed).
   */
  originAlpn(name: string, port: number): string | Promise<string | undefined> | undefined {
    const key = `${name}:${port}`;
    const known = this.alpnKnown.get(key);
    if (known !== undefined) return known;
    const entry = this.ahead.get(key);
    return entry?.handshake.then((h) => (h ? this.alpnKnown.get(key) : undefined));
  }

  /** What the forwarding connections to `name:port` negotiated last, for the exchange's `upstreamAlpn`. */
  alpnOf(name: string, port: number): string | undefined {
    return this.alpnKnown.get(`${name}:${port}`);
  }

  private connectStrict(name: string, port: number, h2: boolean, tunnel?: net.Socket): tls.TLSSocket {
    const key = `${name}:${port}`;
    const socket = tls.connect({
      ...this.tlsOptions(name, port, h2),
      socket: tunnel,
      secureContext: this.trust,
      session: this.sessions.get(key),
      // Verify against the name, not the address it was routed to (curl --resolve semantics).
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
    });
    // `noDelay` in tls.connect's options is not passed to its TCP socket (Node 20: TCP_NODELAY
    // was never set, strace shows); without it Nagle holds a small write (a WebSocket message,
    // a body after its head) until the previous one is acknowledged.
    socket.setNoDelay(true);
    socket.on('session', (session: Buffer) => {
      if (this.sessions.size >= MAX_POOLS) this.sessions.delete(this.sessions.keys().next().value!);
      this.sessions.set(key, session);
    });
    return socket;
  }

  /** Opens a verified connection to `name:port` ahead of its first request (proxy/engine/connect.ts). */
  preconnect(name: string, port: number): () => void {
    const key = `${name}:${port}`;
    const open = this.ahead.get(key);
    if (open) return holdAhead(this.ahead, key, open);
    const none = () => undefined;
    if (this.ahead.size >= PRECONNECT_MAX || this.failedAhead.has(key)) return none;
    // Through the upstream proxy the tunnel is opened by the request itself (the audit probes on its own).
    if (this.lenientTls(name, port) || this.loopCheck(this.route(name, port)) || this.viaProxy(name, port)) return none;
    const pool = this.pools.get(poolKey({ kind: 'strict' }, name, port));
    if (pool && pool.stats.connected > 0) return none;
    const socket = this.connectStrict(name, port, true);
    const drop = () => {
      if (this.ahead.get(key) !== entry) return;
      clearTimeout(entry.timer);
      this.ahead.delete(key);
      socket.destroy();
    };
    // Refused, reset or unverifiable: forgotten; the request then connects (and fails) as usual.
    const fail = () => {
      if (this.failedAhead.size < PRECONNECT_MAX * 40) this.failedAhead.add(key);
      drop();
    };
    let shown: (h: Handshake | undefined) => void = () => undefined;
    const handshake = new Promise<Handshake | undefined>((resolve) => { shown = resolve; });
    const entry: Ahead = { socket, ready: false, drop, fail, timer: setTimeout(drop, PRECONNECT_IDLE_MS).unref(), holders: 0, handshake };
    this.ahead.set(key, entry);
    socket.once('secureConnect', () => {
      entry.ready = true;
      this.learnAlpn(key, socket);
      shown(handshakeOf(socket));
    });
    socket.on('error', fail);
    socket.on('close', drop);
    // Refused, unverifiable or closed first: the audit makes its own handshake.
    socket.once('close', () => shown(undefined));
    return holdAhead(this.ahead, key, entry);
  }

  /**
   * The handshake of the connection opened ahead to `name:port`, while there is one: the TLS
   * audit takes the chain it judges from it instead of making a handshake of its own.
   */
  handshakeAhead(name: string, port: number): Promise<Handshake | undefined> | undefined {
    return this.ahead.get(`${name}:${port}`)?.handshake;
  }

  private takeAhead(key: string, evenIfHandshaking: boolean, h2: boolean): Ahead | undefined {
    const entry = this.ahead.get(key);
    if (!entry || (!entry.ready && !evenIfHandshaking)) return undefined;
    if (!h2 && entry.socket.alpnProtocol === 'h2') return undefined;
    this.ahead.delete(key);
    clearTimeout(entry.timer);
    entry.socket.off('error', entry.fail);
    entry.socket.off('close', entry.drop);
    return entry.socket.destroyed ? undefined : entry;
  }

  /** Options shared by every connection to `name:port`, TLS or not. */
  connectOptions(name: string, port: number) {
    const to = this.route(name, port);
    return { host: to.host, port: to.port, lookup: this.loop.lookup(to.port) };
  }

  /** A raw TCP connection to `name:port` (passthrough tunnels). */
  connectRaw(name: string, port: number): net.Socket {
    const to = this.route(name, port);
    const loop = this.loopCheck(to);
    const socket = net.connect(this.connectOptions(name, port));
    if (loop) socket.destroy(loop);
    return socket;
  }

  /** Closes every pool (in-flight requests are cut) and every connection opened ahead. */
  async close(): Promise<void> {
    for (const entry of [...this.ahead.values()]) entry.drop();
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }
}
