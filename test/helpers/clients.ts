/**
 * Real clients through the proxy: Node's https over a CONNECT tunnel (https-proxy-agent), curl,
 * undici's ProxyAgent and `ws`. Each returns what a user would look at.
 */
import { spawn } from 'node:child_process';
import https from 'node:https';
import tls from 'node:tls';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { HttpsProxyAgent } from 'https-proxy-agent';
import WebSocket from 'ws';
import { sha256 } from './upstreams.js';
import { ensureDebianTool } from './debian.js';

export interface Reply { status: number; headers: IncomingHttpHeaders; body: Buffer; sha256: string; json<T = Record<string, unknown>>(): T }

export function tunnelAgent(proxyUrl: string, ca: string, keepAlive = false): HttpsProxyAgent<string> {
  return new HttpsProxyAgent(proxyUrl, { keepAlive, ca, maxSockets: keepAlive ? 1 : Infinity });
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string | AsyncIterable<Buffer>;
  agent?: https.Agent;
  /** Kept in memory only when asked; a large download is hashed as it arrives. */
  keepBody?: boolean;
  timeoutMs?: number;
}

/** Node's https through the proxy (a CONNECT tunnel), trusting `ca`. */
export function viaProxy(proxyUrl: string, ca: string, url: string, opts: RequestOptions = {}): Promise<Reply> {
  const agent = opts.agent ?? tunnelAgent(proxyUrl, ca);
  return new Promise((resolve, reject) => {
    // https-proxy-agent drops `host` before its TLS connect, so Node would check IP targets against "localhost".
    const name = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
    const checkServerIdentity = (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(name, cert);
    const req = https.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent, ca, checkServerIdentity, timeout: opts.timeoutMs ?? 30_000, maxHeaderSize: 1024 * 1024 }, (res) => {
      const hash = (async () => {
        const h = (await import('node:crypto')).createHash('sha256');
        const chunks: Buffer[] = [];
        for await (const c of res) { h.update(c as Buffer); if (opts.keepBody !== false) chunks.push(c as Buffer); }
        return { digest: h.digest('hex'), body: Buffer.concat(chunks) };
      })();
      hash.then(({ digest, body }) => resolve({
        status: res.statusCode ?? 0, headers: res.headers, body, sha256: digest,
        json: <T>() => JSON.parse(body.toString('utf8')) as T,
      }), reject);
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    const body = opts.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else Readable.from(body).pipe(req);
  });
}

export interface CurlResult { code: number | null; stdout: Buffer; stderr: string }

let curlPath: string | undefined;

/** curl from the machine, installed from Debian's packages by the test setup when missing. */
export function curlBinary(): string {
  if (curlPath) return curlPath;
  const tool = ensureDebianTool('curl', 'curl');
  if ('skip' in tool) throw new Error(`the tests need curl: ${tool.skip}`);
  return (curlPath = tool.path);
}

/** curl with `args` (add `-x` and `--cacert` yourself), killed after `timeoutMs`. */
export function curl(args: string[], timeoutMs = 30_000): Promise<CurlResult> {
  const binary = curlBinary();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['-sS', '--max-time', String(Math.ceil(timeoutMs / 1000)), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout: Buffer.concat(out), stderr }); });
  });
}

/** A `ws` client through the proxy, open. */
export function openWs(proxyUrl: string, ca: string, url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { agent: tunnelAgent(proxyUrl, ca), ca, headers, handshakeTimeout: 10_000 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => reject(Object.assign(new Error(`unexpected response ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() })));
    });
  });
}

export { sha256 };

/** A raw CONNECT to the proxy; resolves with the socket and the proxy's answer head. */
export function rawConnect(proxyPort: number, target: string): Promise<{ socket: import('node:net').Socket; head: string }> {
  return new Promise((resolve, reject) => {
    import('node:net').then(({ default: net }) => {
      const socket = net.connect(proxyPort, '127.0.0.1');
      let buf = '';
      socket.setTimeout(10_000, () => socket.destroy(new Error('no answer to CONNECT')));
      socket.on('error', reject);
      socket.on('connect', () => socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
      const onData = (c: Buffer) => {
        buf += c.toString('latin1');
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        socket.setTimeout(0);
        const rest = Buffer.from(buf.slice(end + 4), 'latin1');
        if (rest.length > 0) socket.unshift(rest);
        resolve({ socket, head: buf.slice(0, end) });
      };
      socket.on('data', onData);
      socket.on('close', () => resolve({ socket, head: buf }));
    }, reject);
  });
}

/** TLS inside a CONNECT tunnel, trusting `ca`. */
export async function tlsTunnel(proxyPort: number, host: string, port: number, ca: string, extra: import('node:tls').ConnectionOptions = {}): Promise<import('node:tls').TLSSocket> {
  const { socket, head } = await rawConnect(proxyPort, `${host.includes(":") ? `[${host}]` : host}:${port}`);
  if (!head.startsWith('HTTP/1.1 200')) throw new Error(`CONNECT refused: ${head}`);
  const tls = (await import('node:tls')).default;
  const net = (await import('node:net')).default;
  return new Promise((resolve, reject) => {
    const checkServerIdentity = (_h: string, cert: import('node:tls').PeerCertificate) => tls.checkServerIdentity(host, cert);
    const s = tls.connect({ socket, servername: net.isIP(host) ? undefined : host, ca, checkServerIdentity, ALPNProtocols: ['http/1.1'], ...extra }, () => resolve(s));
    s.on('error', reject);
  });
}

/** Everything a socket sends until it closes (or `ms` pass). */
export function readAll(socket: import('node:stream').Duplex, ms = 10_000): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { socket.destroy(); }, ms);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
  });
}
