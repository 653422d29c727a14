/**
 * The engine floor (bench/README.md, kept runnable): the least a TLS-terminating CONNECT
 * proxy on Node 20 does per request, with mgproxy's own engine choices and nothing else. The outer
 * http.Server answers CONNECT 200 and wraps the socket in a `tls.TLSSocket` (one static
 * certificate for `*.bench.test`), an inner http.Server that never listens parses the requests,
 * and each goes to the upstream on one undici `Pool` through `dispatch` with a raw handler that
 * writes the response as it comes (backpressure: the controller paused while res.write() is full). No rules, no
 * exchange object, no log line, no events. Its req/s and its bulk MB/s over direct bound what
 * mgproxy can reach on the same core: the gap between the two is mgproxy's own cost.
 * Started with the path of a JSON file {cert, key, upstreamPort}; prints {"port": N}.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { Pool, type Dispatcher } from 'undici';
import { endToEnd } from '../proxy/engine/headers.js';

const { cert, key, upstreamPort } = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as { cert: string; key: string; upstreamPort: number };
const secureContext = tls.createSecureContext({ cert, key });
const pool = new Pool(`https://127.0.0.1:${upstreamPort}`, {
  connections: 256, keepAliveTimeout: 60_000, pipelining: 1,
  connect: { rejectUnauthorized: false, servername: 'api.bench.test' },
});

class Relay implements Dispatcher.DispatchHandler {
  constructor(private readonly res: http.ServerResponse) {}
  // undici takes a handler for its controller API by this method (lib/handler/unwrap-handler.js).
  onRequestStart(): void { /* nothing to abort from */ }
  onResponseStart(controller: Dispatcher.DispatchController, status: number, _headers: http.IncomingHttpHeaders, statusText?: string): void {
    this.res.writeHead(status, statusText ?? '', endToEnd(controller.rawHeaders as Buffer[]));
    this.res.on('drain', () => controller.resume());
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void { if (!this.res.write(chunk)) controller.pause(); }
  onResponseEnd(): void { this.res.end(); }
  onResponseError(): void { this.res.destroy(); }
}

const inner = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
  const headers = endToEnd(req.rawHeaders);
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.dispatch({ method: req.method!, path: req.url!, headers, body: hasBody ? req : null }, new Relay(res));
});
const outer = http.createServer();
outer.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
  socket.on('error', () => undefined);
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  const s = new tls.TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
  s.on('error', () => s.destroy());
  inner.emit('connection', s);
});
outer.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (outer.address() as AddressInfo).port })}\n`);
});
process.stdin.on('end', () => process.exit(0));
// An exit, not a kill, on SIGTERM: `node --cpu-prof` writes its profile at exit.
process.on('SIGTERM', () => process.exit(0));
process.stdin.resume();
