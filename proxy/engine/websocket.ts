/**
 * WebSocket upgrades (docs/architecture.md, docs/rules.md): the rules ran first (proxy/engine/server.ts); the upgrade goes out
 * on the route's Pool with undici's `upgrade`, and once the upstream answers 101 its head goes to
 * the client as it came and the bytes are relayed both ways unchanged (frames, close codes and
 * reasons included). An upstream that answers anything but 101 has that response relayed to the
 * client, which then sees no WebSocket. The socket's slot is released when the client's socket
 * closes (the exchange's end).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Exchange } from '../flow/exchange.js';
import { DispatchRelay, type RelayHost, upstreamRequestHeaders } from './dispatch.js';
import { endToEnd, headersOf, rawHead } from './headers.js';
import { followConditions, SocketDirection, watchSocketDrop } from '../network/paths.js';
import { relayed } from './relay-memory.js';

/** A socket still holding unsent bytes when its peer closed gets this long to flush them. */
const FLUSH_MS = 2000;

/**
 * The one place WebSocket bytes pass, in one direction: `count` sees every chunk, `to` gets it
 * unchanged, and `from` pauses while `to` is full.
 */
export function relay(from: Duplex, to: Duplex, count: (chunk: Buffer) => void): () => void {
  const onData = (chunk: Buffer) => {
    count(chunk);
    relayed(chunk.length);
    if (!to.write(chunk)) from.pause();
  };
  const onDrain = () => from.resume();
  // A FIN is passed on as a FIN; a peer that vanishes closes the other side once it has flushed.
  const onEnd = () => to.end();
  const onClose = () => {
    if (to.writableLength === 0) { to.destroy(); return; }
    to.end();
    setTimeout(() => to.destroy(), FLUSH_MS).unref();
  };
  from.on('data', onData);
  to.on('drain', onDrain);
  from.on('end', onEnd);
  from.on('close', onClose);
  from.resume();
  // Detached when a network condition puts a shaper between the two (proxy/network/paths.ts).
  return () => {
    from.off('data', onData);
    to.off('drain', onDrain);
    from.off('end', onEnd);
    from.off('close', onClose);
  };
}

/** undici's Dispatcher handler for one upgrade. */
class UpgradeRelay extends DispatchRelay implements Dispatcher.DispatchHandler {
  constructor(host: RelayHost, ex: Exchange, private readonly client: Duplex, private readonly head: Buffer) {
    super(host, ex);
  }

  onRequestUpgrade(controller: Dispatcher.DispatchController, statusCode: number, _headers: IncomingHttpHeaders, upstream: Duplex): void {
    const { ex, client } = this;
    // undici took its listeners off: this socket's errors are ours from here.
    upstream.on('error', () => undefined);
    if (this.ignored(controller) || client.destroyed || !ex.moveTo('answered')) { this.done = true; upstream.destroy(); return; }
    this.done = true;
    // The raw list, not the parsed object: the 101's fields go to the client as they came.
    const headers = (controller.rawHeaders ?? []) as Buffer[];
    ex.upgraded = true;
    ex.status = statusCode;
    const responseHeaders = headersOf(headers);
    ex.responseHeaders = responseHeaders;
    ex.responseStartMs = ex.elapsedMs();
    // The dispatch is over: stopping the upstream now means closing its socket.
    ex.upstream = { abort: () => upstream.destroy() };
    client.write(rawHead(statusCode, 'Switching Protocols', headers));
    if (this.head.length > 0) upstream.write(this.head);
    const { ctx } = this.host;
    // Frame headers read on every socket; messages observed (never changed) once the dashboard or a HAR wants them (docs/dashboard.md).
    const tap = ctx.socketMessages.tap(ex, responseHeaders['sec-websocket-extensions']);
    client.once('close', () => tap.end());
    // Network conditions (docs/network.md): each direction through its shaper when one applies, now or
    // once one is set while the socket is open.
    const directions = [
      new SocketDirection(ex, upstream, client, 'down', relay, (chunk) => { ex.bytesOut += chunk.length; tap.fromServer(chunk); }),
      new SocketDirection(ex, client, upstream, 'up', relay, (chunk) => { ex.bytesIn += chunk.length; tap.fromClient(chunk); }),
    ];
    followConditions(ex, ctx.network, client, directions);
    // `socket-drop` set later applies to sockets already open (docs/network.md).
    watchSocketDrop(ex, ctx.network, client, upstream);
  }

  /** Not upgraded: the upstream's answer goes to the client as it is, delimited by the close. */
  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, _headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (this.ignored(controller) || statusCode < 200) return;
    const { ex, client } = this;
    const raw = controller.rawHeaders as Buffer[];
    ex.status = statusCode;
    // The end-to-end fields, as for any forwarded response; the body is delimited by the close.
    const fields = endToEnd(raw);
    ex.responseHeaders = headersOf(fields);
    ex.responseStartMs = ex.elapsedMs();
    fields.push('connection', 'close');
    client.write(rawHead(statusCode, statusMessage, fields));
    ex.moveTo('answered');
    this.followDrain(controller, client);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.ignored(controller)) return;
    this.ex.bytesOut += chunk.length;
    // The client's socket is full: the upstream socket waits for its 'drain'.
    if (!this.client.write(chunk)) controller.pause();
  }

  onResponseEnd(controller: Dispatcher.DispatchController): void {
    if (this.ignored(controller)) return;
    this.stop();
    this.client.end();
  }

}

/** Dispatches the upgrade of an admitted `connectSocket` exchange on `dispatcher`. */
export function forwardWebSocket(host: RelayHost, ex: Exchange, dispatcher: Dispatcher, head: Buffer): void {
  const client = ex.socket!;
  dispatcher.dispatch({ method: 'GET', path: ex.path, headers: upstreamRequestHeaders(ex), upgrade: 'websocket', body: null },
    new UpgradeRelay(host, ex, client, head));
}
