/**
 * The listening proxy (docs/architecture.md): CONNECT, absolute-form `http://` requests and upgrades on the
 * outer server; requests and upgrades inside tunnels on the inner server, which shares the same
 * handlers. Every raw socket has an 'error' owner from the moment it exists.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ClientAccess } from '../phones/client-access.js';
import type { ProxyContext } from '../context.js';
import { classifyApi } from '../flow/classify.js';
import { handleConnect, openTunnel, tunnelOf } from './connect.js';
import { Exchange, type ExchangeEnv, type Scheme } from '../flow/exchange.js';
import { exchangeEnv } from './exchange-env.js';
import { H2Front } from './h2-front.js';
import { Forwarder } from './forward.js';
import { isValidHost, normalizeHost, normalizeIp, splitHostPort } from '../../config/net-address.js';
import { clientErrorStatus, writeRawAnswer } from '../flow/respond.js';
import { answerFinding, runRequestRules } from '../rules/pipeline.js';
import { proceedUnder } from '../network/gate.js';

/** Where a request goes, taken from its tunnel or its absolute-form URL. */
interface Target { scheme: Scheme; host: string; port: number; path: string; client: string }

/** A request the proxy cannot place: 400 with why. */
class BadTarget extends Error {}

/** Marks LAN-mode refusals (docs/rules.md), which are no rule's violation. */
const REFUSED_HEADER = { 'x-mgproxy-refused': 'allow-clients' };

const ABSOLUTE = /^(https?|wss?):\/\/([^/?#]*)([^#]*)/i;

/** Exported for the onboarding pages: a request straight to the proxy is not a proxy request. */
export function isOriginForm(req: IncomingMessage): boolean {
  return !tunnelOf(req.socket) && (req.url ?? '').startsWith('/');
}

function targetOf(req: IncomingMessage, upgrade: boolean, tunnel = tunnelOf(req.socket)): Target {
  const url = req.url ?? '';
  if (tunnel) {
    const secure = tunnel.secure;
    const scheme: Scheme = upgrade ? (secure ? 'wss' : 'ws') : secure ? 'https' : 'http';
    // Origin-form, as nearly every request in a tunnel is; an absolute-form one keeps its path.
    const m = url.startsWith('/') ? null : ABSOLUTE.exec(url);
    const path = m ? m[3] || '/' : url;
    if (!path.startsWith('/') && path !== '*') throw new BadTarget(`request target ${JSON.stringify(url)} is not a path`);
    return { scheme, host: tunnel.host, port: tunnel.port, path, client: tunnel.client };
  }
  const m = ABSOLUTE.exec(url);
  if (!m) throw new BadTarget(`mgproxy is a proxy: send absolute-form requests (GET http://host/path) or CONNECT; got ${JSON.stringify(url)}`);
  const given = m[1]!.toLowerCase();
  if (given === 'https' || given === 'wss') throw new BadTarget(`${given}:// goes through CONNECT, not as an absolute-form request`);
  const authority = m[2]!.replace(/^[^@]*@/, '');
  const hp = splitHostPort(authority);
  if (!hp || !isValidHost(hp.host)) throw new BadTarget(`bad host or port in ${JSON.stringify(url)}`);
  const rest = m[3]!;
  return {
    scheme: upgrade ? 'ws' : 'http',
    host: normalizeHost(hp.host),
    port: hp.port ?? 80,
    path: rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest,
    client: normalizeIp(req.socket.remoteAddress ?? ''),
  };
}

/** The request rules' verdict acted on: the proxy's answer, the network condition's delay or fault, or `go`. */
function decide(ex: Exchange, verdict: Awaited<ReturnType<typeof runRequestRules>>, go: (ex: Exchange) => void): void {
  // A timer answered it, or the client left, while a rule waited.
  if (ex.state !== 'admitting') return;
  if (ex.network) {
    proceedUnder(ex, ex.network, verdict ? () => answerFinding(ex, verdict) : undefined, () => go(ex));
    return;
  }
  if (verdict) answerFinding(ex, verdict);
  else go(ex);
}

/**
 * Rules first; an admitted exchange goes on to `go`, a blocked one gets the proxy's answer. No
 * closure is made for an exchange the rules decide at once (nearly all of them).
 */
function admit(ctx: ProxyContext, ex: Exchange, go: (ex: Exchange) => void): void {
  const verdict = runRequestRules(ctx, ex);
  if (verdict instanceof Promise) {
    verdict.then((v) => decide(ex, v, go), (err: Error) => {
      ctx.log.error({ id: ex.id, error: { message: err.message, stack: err.stack } }, 'rule failed');
      ex.cut('error');
    });
  } else decide(ex, verdict, go);
}

export interface ProxyHandlers {
  /** Requests the proxy serves itself (onboarding); return true when handled. */
  serveLocal?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** LAN mode (docs/dashboard.md): who may use the proxy; everyone when absent. */
  clients?: ClientAccess;
}

export class ProxyServer {
  readonly outer: http.Server;
  private readonly inner: http.Server;
  private readonly forwarder: Forwarder;
  /** Made once: an admitted HTTP exchange goes upstream through it. */
  private readonly forwardWeb: (ex: Exchange) => void;
  private readonly env: ExchangeEnv;
  /** The HTTP/2 front end; none under `--http2 off`. */
  private readonly h2?: H2Front;
  private readonly sockets = new Set<Duplex>();
  private readonly answered = new WeakSet<Duplex>();
  /** The latest exchange on each client connection (HTTP/1.1 serves one response at a time on it). */
  private readonly current = new WeakMap<Duplex, Exchange>();

  constructor(private readonly ctx: ProxyContext, private readonly handlers: ProxyHandlers = {}) {
    this.forwarder = new Forwarder(ctx);
    this.env = exchangeEnv(ctx);
    this.forwardWeb = (ex) => this.forwarder.web(ex);
    if (ctx.config.http2) this.h2 = new H2Front(ctx, this.env, (ex) => admit(ctx, ex, this.forwardWeb));
    const options: http.ServerOptions = {
      // Our own timeouts are the rules' (docs/rules.md `timeout`); Node's 5-minute request timeout would cut long uploads.
      requestTimeout: 0,
      headersTimeout: 30_000,
      keepAliveTimeout: 65_000,
      noDelay: true,
    };
    this.inner = http.createServer(options);
    this.outer = http.createServer(options);
    for (const server of [this.inner, this.outer]) {
      server.on('request', (req, res) => this.onRequest(req, res));
      server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
      server.on('clientError', (err, socket) => this.onClientError(err, socket));
    }
    this.outer.on('connection', (socket: Duplex) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    });
    // Replays (proxy/engine/replay.ts) come in as tunnels of their own, through the same handlers.
    ctx.state.openTunnel = (socket, info) => openTunnel(this.inner, socket, info);
    this.outer.on('connect', (req, socket, head) => {
      const refusal = this.refusal(req);
      if (refusal) writeRawAnswer(socket, 403, REFUSED_HEADER, refusal);
      else handleConnect(ctx, this.inner, req, socket, head, this.h2);
    });
  }

  /**
   * LAN mode (docs/rules.md): a client the policy refuses gets 403 naming its address and
   * `--allow-clients`, and no tunnel. Only the outer server asks: a tunnel's requests come from
   * the client its CONNECT admitted.
   */
  private refusal(req: IncomingMessage): string | undefined {
    const access = this.handlers.clients;
    if (!access || tunnelOf(req.socket)) return undefined;
    const address = req.socket.remoteAddress ?? '';
    if (access.allows(address)) return undefined;
    access.logRefusal(this.ctx.log, address, `${req.method} ${req.url}`);
    return access.refusal(address);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    // llhttp takes `GET /path` with no version as HTTP/0.9 (no headers, no Host): a request no
    // mini-game runtime sends and nothing upstream should see, answered 400 like a malformed one.
    if (req.httpVersionMajor === 0) {
      const client = tunnelOf(req.socket)?.client ?? normalizeIp(req.socket.remoteAddress ?? '');
      this.ctx.log.warn({ client, host: tunnelOf(req.socket)?.host, url: req.url }, 'HTTP/0.9 request refused');
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(`mgproxy: HTTP/0.9 requests (a request line without a version) are not supported; send HTTP/1.1\n`);
      return;
    }
    // A tunnel's requests come from the client its CONNECT admitted, and are never for the onboarding pages.
    const tunnel = tunnelOf(req.socket);
    if (!tunnel) {
      const refusal = this.refusal(req);
      if (refusal) {
        res.writeHead(403, { ...REFUSED_HEADER, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(refusal), connection: 'close' });
        res.end(refusal);
        return;
      }
      if (this.handlers.serveLocal?.(req, res)) return;
    }
    let target: Target;
    try {
      target = targetOf(req, false, tunnel);
    } catch (err) {
      if (!(err instanceof BadTarget)) throw err;
      this.ctx.log.warn({ client: normalizeIp(req.socket.remoteAddress ?? ''), url: req.url, reason: err.message }, 'bad request target');
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(`${err.message}\n`);
      return;
    }
    const api = classifyApi(this.ctx.config, req, target.host, false);
    const ex = new Exchange(this.env, { req, res, api, ...target });
    this.current.set(req.socket, ex);
    res.on('finish', () => ex.finish('completed'));
    res.on('close', () => {
      if (ex.state === 'ended') return;
      // The whole body reached the client, which closed before 'finish': delivered, so completed;
      // the upstream's own end follows and its connection stays reusable.
      if (ex.deliveredBeforeClose()) { ex.finish('completed'); return; }
      // The client left first: the upstream request goes too, at once.
      ex.abortUpstream();
      ex.finish('aborted');
    });
    admit(this.ctx, ex, this.forwardWeb);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const refusal = this.refusal(req);
    if (refusal) { writeRawAnswer(socket, 403, REFUSED_HEADER, refusal); return; }
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      writeRawAnswer(socket, 501, {}, `mgproxy forwards WebSocket upgrades only, not ${JSON.stringify(req.headers.upgrade)}\n`);
      return;
    }
    let target: Target;
    try {
      target = targetOf(req, true);
    } catch (err) {
      if (!(err instanceof BadTarget)) throw err;
      writeRawAnswer(socket, 400, {}, `${err.message}\n`);
      return;
    }
    const ex = new Exchange(this.env, { req, socket, api: 'connectSocket', ...target });
    socket.on('close', () => ex.finish(ex.upgraded ? 'completed' : 'aborted'));
    admit(this.ctx, ex, (admitted) => this.forwarder.ws(admitted, head));
  }

  /** Malformed requests (also inside tunnels): 400, or 431 for oversized headers, to that client alone. */
  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    // The parser may report the same broken request more than once; the first answer stands.
    if (this.answered.has(socket)) return;
    this.answered.add(socket);
    const tunnel = tunnelOf(socket);
    const client = tunnel?.client ?? normalizeIp((socket as Duplex & { remoteAddress?: string }).remoteAddress ?? '');
    const code = err.code ?? '';
    this.ctx.log.warn({ client, host: tunnel?.host, error: { code, message: err.message } }, 'bad request from client');
    // A response under way on this connection (its head sent, its body not finished): a 400 now
    // would land inside its body, so the connection is closed instead.
    const busy = this.current.get(socket)?.state === 'answered';
    const status = clientErrorStatus(code);
    if (status === undefined || busy || !socket.writable) { socket.destroy(); return; }
    writeRawAnswer(socket, status, {}, `mgproxy: malformed request (${code}: ${err.message})\n`);
  }

  /** Stops accepting, lets what is in flight finish for up to `graceMs`, then closes every socket. */
  async close(graceMs: number): Promise<void> {
    this.outer.close();
    this.h2?.close();
    this.outer.closeIdleConnections();
    this.inner.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.ctx.inFlight.idle(), new Promise<void>((r) => { timer = setTimeout(r, graceMs); })]);
    clearTimeout(timer);
    for (const ex of this.ctx.inFlight.all()) ex.cut('aborted');
    for (const socket of this.sockets) socket.destroy();
    await this.ctx.upstream.close();
  }
}
