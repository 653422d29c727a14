/**
 * A CONNECT tunnel through the proxy for `ws` (RFC 9110 §9.3.6): `ws` asks for a connection to the
 * socket's host and port, this opens `CONNECT host:port` on the proxy and, for `wss:`, starts TLS
 * inside it with the runtime's trust. In the shape of Node's `createConnection(options, callback)`.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

export type CreateConnection = (options: { host?: string; port?: number | string }, done: (err: Error | null, socket?: Duplex) => void) => undefined;

export function tunnelConnector(proxy: URL, secure: boolean, ca: string[] | undefined): CreateConnection {
  return (options, done) => {
    const host = options.host ?? 'localhost';
    const port = Number(options.port ?? (secure ? 443 : 80));
    const authority = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
    const req = http.request({
      host: proxy.hostname.replace(/^\[|\]$/g, ''), port: proxy.port || 80, method: 'CONNECT', path: authority,
      headers: { host: authority }, agent: false,
    });
    req.once('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        done(Object.assign(new Error(`the proxy answered CONNECT with ${res.statusCode}`), { code: 'ECONNREFUSED' }));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      if (!secure) { done(null, socket); return; }
      const t = tls.connect({ socket, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'], ...(ca ? { ca } : {}) });
      // Until the HTTP client takes it, the tunnel's errors are its TLS socket's.
      socket.on('error', (err) => t.destroy(err));
      done(null, t);
    });
    req.once('error', (err) => done(err));
    req.end();
    return undefined;
  };
}
