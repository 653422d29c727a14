/**
 * The engine floor (bench/README.md, kept runnable): the least a TLS-terminating CONNECT
 * proxy on Node 20 does per request, with mgproxy's own engine choices and nothing else. The outer
 * http.Server answers CONNECT 200 and wraps the socket in a `tls.TLSSocket` (one static
 * certificate for `*.bench.test`), an inner http.Server that never listens parses the requests,
 * and each goes to the upstream on one undici `Pool` through `dispatch` with a raw handler that
 * writes the response as it comes (backpressure: onData returns res.write()). No rules, no
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

const { cert, key, upstreamPort } = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as { cert: string; key: string; upstreamPort: number };
const secureContext = tls.createSecureContext({ cert, key });
const pool = new Pool(`https://127.0.0.1:${upstreamPort}`, {
  connections: 256, keepAliveTimeout: 60_000, pipelining: 1,
  connect: { rejectUnauthorized: false, servername: 'api.bench.test' },
});
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

class Relay implements Dispatcher.DispatchHandler {
  constructor(private readonly res: http.ServerResponse) {}
  onConnect(): void { /* nothing to abort from */ }
  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    const flat: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toString('latin1');
      if (!HOP.has(name.toLowerCase())) flat.push(name, raw[i + 1]!.toString('latin1'));
    }
    this.res.writeHead(status, statusText, flat);
    this.res.on('drain', resume);
    return true;
  }
  onData(chunk: Buffer): boolean { return this.res.write(chunk); }
  onComplete(): void { this.res.end(); }
  onError(): void { this.res.destroy(); }
}

const inner = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
  const headers: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i]!.toLowerCase())) headers.push(raw[i]!, raw[i + 1]!);
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
process.stdin.resume();
