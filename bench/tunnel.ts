/**
 * How the load generator reaches a host, straight or through the proxy: a TCP connection (to the
 * upstream, or to the proxy and a CONNECT), then TLS with the host's name as SNI. The same code
 * serves undici's `connect` option and an https.Agent for `ws`, so direct and proxied differ only
 * by the CONNECT.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

/** Where the bench sends its traffic. */
export interface Route {
  /** The upstream's loopback port (direct). */
  upstreamPort: number;
  /** Hosts served on another port (direct): the WebSocket echo, which nginx cannot be. */
  hostPorts?: Readonly<Record<string, number>>;
  /** The proxy's port; undefined = direct. */
  proxyPort?: number;
  /** Roots the client trusts: the test root (direct) or the mgproxy CA (proxied). */
  ca: string;
}

/** Resolves with a socket past the proxy's `200`, ready for TLS. */
export function connectTunnel(proxyPort: number, host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: proxyPort, host: '127.0.0.1', noDelay: true });
    let head = Buffer.alloc(0);
    const fail = (err: Error) => { socket.destroy(); reject(err); };
    socket.once('error', fail);
    socket.once('close', () => reject(new Error('the proxy closed the connection before answering CONNECT')));
    socket.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.removeAllListeners('close');
      socket.off('error', fail);
      socket.pause();
      const status = head.subarray(0, end).toString('latin1').split(' ')[1];
      if (status !== '200') { fail(new Error(`CONNECT answered ${status}`)); return; }
      if (end + 4 < head.length) socket.unshift(head.subarray(end + 4));
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

export interface OpenTlsOptions {
  /** TLS session to resume (undefined: a full handshake). */
  session?: Buffer;
  /** Skip the certificate check (the mint workload only counts handshakes). */
  insecure?: boolean;
  alpn?: string[];
}

/** A TLS connection to `host` (port 443 through the proxy; the upstream's port direct). */
export async function openTls(route: Route, host: string, opts: OpenTlsOptions = {}): Promise<tls.TLSSocket> {
  const socket = route.proxyPort === undefined ? undefined : await connectTunnel(route.proxyPort, host, 443);
  return new Promise((resolve, reject) => {
    const t = tls.connect({
      ...(socket ? { socket } : { host: '127.0.0.1', port: directPort(route, host) }),
      servername: host,
      ca: route.ca,
      rejectUnauthorized: !opts.insecure,
      session: opts.session,
      ALPNProtocols: opts.alpn ?? ['http/1.1'],
      noDelay: true,
    } as unknown as tls.ConnectionOptions, () => { t.off('error', reject); resolve(t); });
    t.once('error', reject);
  });
}

/** An https.Agent whose connections take `route` (used by `ws`, which speaks through an Agent). */
export class RouteAgent extends https.Agent {
  constructor(private readonly route: Route) {
    super({ keepAlive: false });
  }

  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, socket: Duplex) => void): Duplex | undefined {
    openTls(this.route, String((options as { servername?: string }).servername ?? options.host)).then(
      (socket) => callback?.(null, socket),
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/** The loopback port that serves `host` directly. */
export function directPort(route: Route, host: string): number {
  return route.hostPorts?.[host] ?? route.upstreamPort;
}

/** The URL origin a client uses for `host` on this route. */
export function originOf(route: Route, host: string): string {
  return route.proxyPort === undefined ? `https://${host}:${directPort(route, host)}` : `https://${host}`;
}
