/**
 * Raw byte tunnels for `passthrough` hosts (docs/config.md): no interception, no rules, no counting.
 * The upstream is connected first, so a client is told 502 rather than 200 when it cannot be.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyContext } from '../context.js';
import { writeRawAnswer } from '../flow/respond.js';

export function tunnelRaw(ctx: ProxyContext, socket: Duplex, head: Buffer, host: string, port: number, client: string): void {
  const opener = ctx.upstream.tunnel(host, port);
  if (opener) {
    // Through the upstream proxy (docs/upstream-proxy.md): its tunnel is this one's upstream.
    opener().then((upstream) => {
      if (socket.destroyed) { upstream.destroy(); return; }
      relayRaw(ctx, socket, head, host, port, client, upstream, true);
    }, (err: Error) => {
      ctx.log.warn({ client, host, port, error: { message: err.message } }, 'passthrough upstream proxy refused');
      writeRawAnswer(socket, 502, { 'x-mgproxy-error': 'upstream-proxy' }, `mgproxy: ${err.message}\n`);
    });
    return;
  }
  relayRaw(ctx, socket, head, host, port, client, ctx.upstream.connectRaw(host, port), false);
}

function relayRaw(ctx: ProxyContext, socket: Duplex, head: Buffer, host: string, port: number, client: string, upstream: net.Socket, open: boolean): void {
  const started = performance.now();
  let connected = false;
  const onOpen = () => {
    connected = true;
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
    upstream.resume();
  };
  if (open) onOpen();
  else upstream.once('connect', onOpen);
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (connected) { socket.destroy(); return; }
    ctx.log.warn({ client, host, port, error: { code: err.code, message: err.message } }, 'passthrough upstream unreachable');
    writeRawAnswer(socket, 502, { 'x-mgproxy-error': 'upstream-unreachable' }, `mgproxy: cannot reach ${host}:${port}: ${err.message}\n`);
  });
  // Either side gone: the other goes too (pipe alone would leave a half-open peer after an error).
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => {
    socket.destroy();
    if (connected) {
      ctx.log.info({ client, host, port, bytesIn: upstream.bytesWritten, bytesOut: upstream.bytesRead, durationMs: Math.round(performance.now() - started) }, 'passthrough');
    }
  });
}
