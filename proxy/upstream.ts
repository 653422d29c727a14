/**
 * Connections to upstreams: `upstream.hosts` routing (curl's `--resolve`: connect to the mapped
 * address, keep the name for SNI, Host and certificate checks), strict verification against Node's
 * roots plus `extraCaFiles`, pooled keep-alive agents, and the guard that stops the proxy from
 * connecting to itself (SPEC §9).
 */
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { RuntimeConfig } from '../config/load.js';
import { isLoopbackIp, normalizeIp } from '../config/net-address.js';
import { connectPinned } from './pinned-tls.js';

/** Set on the request options so the agent can hand the ClientRequest to its exchange. */
export const kOnUpstreamRequest = Symbol('mgproxy.onUpstreamRequest');

export class LoopError extends Error {
  readonly code = 'ELOOP_MGPROXY';
  constructor(host: string, port: number) {
    super(`${host}:${port} is mgproxy itself; refusing to forward to it`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A response head may be large (cookies, CSPs); Node's default of 16 KiB would refuse it. */
export const MAX_RESPONSE_HEADER_BYTES = 256 * 1024;
/**
 * Idle upstream sockets are dropped before Node servers' default 5 s keep-alive timeout, so a
 * request never goes out on a socket the server is closing.
 */
const IDLE_UPSTREAM_SOCKET_MS = 4000;

export class Upstream {
  /** The proxy's own ports (proxy and admin), filled in once they listen. */
  readonly ownPorts = new Set<number>();
  readonly httpsAgent: https.Agent;
  readonly httpAgent: http.Agent;
  private readonly localAddresses: Set<string>;
  /** `name:port` → SHA-256 fingerprint of the leaf the TLS audit checked (proxy/rules/tls-audit.ts). */
  private readonly pins = new Map<string, string>();

  constructor(private readonly config: RuntimeConfig) {
    this.localAddresses = new Set(['0.0.0.0', '::']);
    for (const list of Object.values(os.networkInterfaces())) {
      for (const a of list ?? []) this.localAddresses.add(normalizeIp(a.address));
    }
    const agentOptions = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, timeout: IDLE_UPSTREAM_SOCKET_MS, scheduling: 'lifo' as const };
    this.httpsAgent = new RoutedHttpsAgent(this, { ...agentOptions, maxCachedSessions: 1000 });
    this.httpAgent = new RoutedHttpAgent(this, agentOptions);
  }

  private trustContext?: tls.SecureContext;

  /**
   * Node's roots plus `extraCaFiles`, parsed once and shared by every upstream connection. Built
   * on first use, not at start: parsing some 140 roots takes ~20 ms, a seventh of a start.
   */
  get trust(): tls.SecureContext {
    return (this.trustContext ??= tls.createSecureContext({ ca: [...tls.rootCertificates, ...this.config.extraCas.map((c) => c.pem)] }));
  }

  /** Where a connection for `name:port` goes: `name:port` in `upstream.hosts` wins over `name`. */
  route(name: string, port: number): { host: string; port: number } {
    const mapped = this.config.hostMap.get(`${name}:${port}`) ?? this.config.hostMap.get(name);
    return mapped ? { host: mapped.host, port: mapped.port ?? port } : { host: name, port };
  }

  /** Later connections to `name:port` skip strict verification but must present this leaf (proxy/pinned-tls.ts). */
  pin(name: string, port: number, fingerprint256: string): void {
    this.pins.set(`${name}:${port}`, fingerprint256);
  }

  /** Strict verification (undefined), or lenient and pinned to the audited leaf, or lenient with no pin (`skipVerification`). */
  lenientTls(name: string, port: number): { pin?: string } | undefined {
    if (this.config.skipVerification) return {};
    const pin = this.pins.get(`${name}:${port}`);
    return pin === undefined ? undefined : { pin };
  }

  /** Opens a verified connection to `name:port` ahead of its first request (proxy/connect.ts). */
  preconnect(name: string, port: number): void {
    if (this.lenientTls(name, port) || this.loopCheck(this.route(name, port))) return;
    (this.httpsAgent as RoutedHttpsAgent).preconnect(name, port);
  }

  /** True when `address:port` is one of the proxy's own listening sockets. */
  isSelf(address: string, port: number): boolean {
    if (!this.ownPorts.has(port)) return false;
    const ip = normalizeIp(address);
    return isLoopbackIp(ip) || this.localAddresses.has(ip);
  }

  /** The loop error for a route to an IP literal; names are checked when they resolve. */
  loopCheck(route: { host: string; port: number }): LoopError | undefined {
    return net.isIP(route.host) && this.isSelf(route.host, route.port) ? new LoopError(route.host, route.port) : undefined;
  }

  /** dns.lookup, refusing addresses that are the proxy itself. Handles `all: true` (Node 20's autoSelectFamily). */
  guardedLookup(port: number) {
    return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
      dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) { callback(err, ''); return; }
        if (addresses.some((a) => this.isSelf(a.address, port))) { callback(new LoopError(hostname, port), ''); return; }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
  }

  /** Options shared by every connection to `name:port`, TLS or not. */
  connectOptions(name: string, port: number) {
    const to = this.route(name, port);
    return { host: to.host, port: to.port, lookup: this.guardedLookup(to.port) };
  }

  /** A raw TCP connection to `name:port` (passthrough tunnels). */
  connectRaw(name: string, port: number): net.Socket {
    const to = this.route(name, port);
    const loop = this.loopCheck(to);
    const socket = net.connect(this.connectOptions(name, port));
    if (loop) socket.destroy(loop);
    return socket;
  }
}

type AgentOptions = { [kOnUpstreamRequest]?: (req: http.ClientRequest) => void; host?: string; port?: number | string; servername?: string };

/** Hands each upstream ClientRequest to the exchange that asked for it, even when `Expect` suppresses http-proxy's `proxyReq` event. */
function announce(req: http.ClientRequest, options: AgentOptions): void {
  options[kOnUpstreamRequest]?.(req);
}

/** A connection opened ahead of its request is dropped after this long unused. */
const PRECONNECT_IDLE_MS = 10_000;
/** At most this many connections opened ahead at once (a client opening tunnels to many hosts). */
const PRECONNECT_MAX = 256;

class RoutedHttpsAgent extends https.Agent {
  /** `name:port` → one connection opened ahead, handed to the first request that needs a new one. */
  private readonly ready = new Map<string, { socket: tls.TLSSocket; drop: () => void; fail: () => void; timer: NodeJS.Timeout }>();

  constructor(private readonly upstream: Upstream, options: https.AgentOptions) {
    super(options);
  }

  /** `name:port` whose connection opened ahead failed (down, or a chain only the pinned path accepts): not tried ahead again. */
  private readonly failedAhead = new Set<string>();

  /** Unless one is open already (ahead or idle in the pool). */
  preconnect(name: string, port: number): void {
    const key = `${name}:${port}`;
    if (this.ready.has(key) || this.ready.size >= PRECONNECT_MAX || this.failedAhead.has(key)) return;
    const pooled = Object.keys(this.freeSockets).some((k) => k.startsWith(`${key}:`));
    if (pooled) return;
    const socket = this.createConnection({ host: name, port, servername: net.isIP(name) ? '' : name } as http.ClientRequestArgs) as tls.TLSSocket;
    const drop = () => {
      if (this.ready.get(key)?.socket !== socket) return;
      clearTimeout(entry.timer);
      this.ready.delete(key);
      socket.destroy();
    };
    // Refused, reset or unverifiable: forgotten; the request then connects (and fails) as usual.
    const fail = () => {
      if (this.failedAhead.size < PRECONNECT_MAX * 40) this.failedAhead.add(key);
      drop();
    };
    const entry = { socket, drop, fail, timer: setTimeout(drop, PRECONNECT_IDLE_MS).unref() };
    this.ready.set(key, entry);
    socket.on('error', fail);
    socket.on('close', drop);
  }

  private takeReady(name: string, port: number): tls.TLSSocket | undefined {
    const key = `${name}:${port}`;
    const entry = this.ready.get(key);
    if (!entry) return undefined;
    this.ready.delete(key);
    clearTimeout(entry.timer);
    entry.socket.off('error', entry.fail);
    entry.socket.off('close', entry.drop);
    return entry.socket.destroyed ? undefined : entry.socket;
  }

  addRequest(req: http.ClientRequest, options: AgentOptions): void {
    announce(req, options);
    (https.Agent.prototype as unknown as { addRequest: (r: unknown, o: unknown) => void }).addRequest.call(this, req, options);
  }

  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void) {
    const name = options.host!;
    const port = Number(options.port);
    // Verify against the name, not the address it was routed to (curl --resolve semantics).
    const checkServerIdentity = (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(name, cert);
    const opts = { ...options, ...this.upstream.connectOptions(name, port), secureContext: this.upstream.trust, checkServerIdentity };
    const lenient = this.upstream.lenientTls(name, port);
    // Opened ahead with strict verification: good for a pinned host too (a pin only stands in for it).
    const ready = callback ? this.takeReady(name, port) : undefined;
    if (ready) return ready;
    if (lenient && callback) {
      // Node's Agent#createSocket takes the socket from the callback when none is returned.
      connectPinned(opts as tls.ConnectionOptions, lenient.pin, callback);
      return undefined as unknown as Duplex;
    }
    return (https.Agent.prototype as unknown as { createConnection: (o: unknown, cb?: unknown) => net.Socket })
      .createConnection.call(this, opts, callback);
  }
}

class RoutedHttpAgent extends http.Agent {
  constructor(private readonly upstream: Upstream, options: http.AgentOptions) {
    super(options);
  }

  addRequest(req: http.ClientRequest, options: AgentOptions): void {
    announce(req, options);
    (http.Agent.prototype as unknown as { addRequest: (r: unknown, o: unknown) => void }).addRequest.call(this, req, options);
  }

  // The agent calls back with the socket it is returned (Node's _http_agent createSocket).
  override createConnection(options: http.ClientRequestArgs) {
    return net.createConnection({ ...options, ...this.upstream.connectOptions(options.host!, Number(options.port)) } as net.NetConnectOpts);
  }
}
