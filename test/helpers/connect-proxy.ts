/**
 * A small upstream HTTP proxy for the chaining tests (docs/upstream-proxy.md): it answers CONNECT
 * only, requires Basic credentials (407 without the right ones), resolves the fake names of the
 * tests itself (`resolve`, as a corporate proxy resolves names the client cannot), and counts
 * every tunnel it opens with its target, so "it went through the chain" and "it went direct" are
 * asserted, not assumed. Loopback, port 0, its sockets closed by `close()`.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ConnectProxy {
  port: number;
  /** `http://user:pass@127.0.0.1:PORT` (the right credentials). */
  url: string;
  /** `host:port` of each tunnel opened, as the CONNECT named it. */
  tunnels: string[];
  /** CONNECTs answered 407 (wrong or missing credentials). */
  refused: number;
  /** Every CONNECT request head received, for "the proxy was sent no credentials it should not see". */
  heads: string[];
  close(): Promise<void>;
}

export interface ConnectProxyOptions {
  user?: string;
  pass?: string;
  /** `host:port` named in a CONNECT → where the fixture really connects (`127.0.0.1:PORT`). */
  resolve?: Record<string, string>;
}

export async function startConnectProxy(opts: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const user = opts.user ?? 'qa';
  const pass = opts.pass ?? 'hunter2-s3cr3t';
  const expected = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  const server = http.createServer((_req, res) => { res.writeHead(405); res.end(); });
  const sockets = new Set<net.Socket>();
  const fixture: ConnectProxy = {
    port: 0, url: '', tunnels: [], refused: 0, heads: [],
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  server.on('connection', (s: net.Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    client.on('error', () => undefined);
    fixture.heads.push(`CONNECT ${req.url}\r\n${Object.entries(req.headers).map(([k, v]) => `${k}: ${String(v)}`).join('\r\n')}`);
    if (req.headers['proxy-authorization'] !== expected) {
      fixture.refused++;
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="qa-lab"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const target = req.url ?? '';
    const to = opts.resolve?.[target] ?? target;
    const colon = to.lastIndexOf(':');
    const upstream = net.connect({ host: to.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(to.slice(colon + 1)) });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => {
      if (!client.destroyed) client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    upstream.once('connect', () => {
      fixture.tunnels.push(target);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fixture.port = (server.address() as AddressInfo).port;
  fixture.url = `http://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${fixture.port}`;
  return fixture;
}
