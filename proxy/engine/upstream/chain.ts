/**
 * Chaining to an upstream HTTP proxy (docs/upstream-proxy.md): every upstream connection that
 * does not go direct is a CONNECT tunnel through it (RFC 9110 §9.3.6), with the Basic credentials
 * of its URL in `Proxy-Authorization` (RFC 7235 §4.4). The tunnel is plain bytes to `host:port`;
 * TLS, SNI and verification run on top of it exactly as on a direct connection, so the upstream
 * proxy sees the name and port and nothing else. The pools, the passthrough tunnels and the TLS
 * audit's probes all open their tunnels here.
 */
import net from 'node:net';
import type { UpstreamProxy } from '../../../config/upstream-proxy.js';
import { formatHost } from '../../../config/net-address.js';

/** The proxy's answer head is a few hundred bytes; a longer one is not a proxy speaking HTTP. */
const MAX_ANSWER_HEAD = 16 * 1024;
/** A tunnel not established within this long (TCP connect plus CONNECT answer) is a proxy that cannot be reached. */
export const TUNNEL_TIMEOUT_MS = 10_000;

/**
 * The upstream proxy refused the tunnel (`status`: its answer to CONNECT, 407 or 403) or could
 * not be reached (no `status`). The message names the proxy by its URL without credentials.
 */
export class UpstreamProxyError extends Error {
  readonly code = 'EMGPROXY_UPSTREAM_PROXY';
  constructor(message: string, readonly status?: number, readonly reason?: string) {
    super(message);
  }
}

/**
 * Opens a CONNECT tunnel to `host:port` through `proxy`; resolves with the socket once the proxy
 * answered 2xx (bytes it sent after its head are pushed back for the caller), rejects with an
 * UpstreamProxyError otherwise. The socket comes paused, so nothing is lost before the caller
 * reads it (TLS on top, `pipe` or `resume`); its errors are the caller's from then on.
 */
export function connectVia(proxy: UpstreamProxy, host: string, port: number, timeoutMs = TUNNEL_TIMEOUT_MS): Promise<net.Socket> {
  const authority = `${formatHost(host)}:${port}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: proxy.host, port: proxy.port });
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    let settled = false;
    const fail = (err: UpstreamProxyError) => {
      if (settled) return;
      settled = true;
      cleanup();
      socket.on('error', () => undefined);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new UpstreamProxyError(`the upstream proxy ${proxy.url} did not open a tunnel to ${authority} within ${timeoutMs / 1000} s`, undefined, 'etimedout')), timeoutMs);
    const onError = (err: NodeJS.ErrnoException) => fail(new UpstreamProxyError(`the upstream proxy ${proxy.url} cannot be reached: ${err.code ?? err.message}`, undefined, (err.code ?? 'econnreset').toLowerCase()));
    const onClose = () => fail(new UpstreamProxyError(`the upstream proxy ${proxy.url} closed the connection before answering CONNECT ${authority}`, undefined, 'econnreset'));
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_ANSWER_HEAD) fail(new UpstreamProxyError(`the upstream proxy ${proxy.url} sent no HTTP answer to CONNECT ${authority}`, undefined, 'eproto'));
        return;
      }
      const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
      if (!m) { fail(new UpstreamProxyError(`the upstream proxy ${proxy.url} sent no HTTP answer to CONNECT ${authority}`, undefined, 'eproto')); return; }
      const status = Number(m[1]);
      if (status < 200 || status > 299) {
        // The status line only: the proxy's headers and body are not repeated anywhere.
        const text = (m[2] ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, 100);
        fail(new UpstreamProxyError(`the upstream proxy ${proxy.url} answered ${status}${text ? ` ${text}` : ''} to CONNECT ${authority}`, status, `upstream proxy ${status}`));
        return;
      }
      settled = true;
      cleanup();
      const rest = head.subarray(end + 4);
      socket.pause();
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once('connect', () => {
      const auth = proxy.authorization ? `Proxy-Authorization: ${proxy.authorization}\r\n` : '';
      socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
    });
  });
}
