/**
 * Where the shapers and the data-path faults join an exchange's streams (docs/network.md): the response
 * body on its way to the client (downKbps, loss, `reset`), the upload on its way upstream (upKbps),
 * and a WebSocket's bytes both ways (rates, latency per chunk, loss, `socket-drop`). Each function
 * hands back the stream it was given when the exchange has no condition that needs it, so an
 * unconditioned exchange gets no extra stream, timer or allocation.
 */
import type { Duplex, Readable, Writable } from 'node:stream';
import { Writable as WritableStream } from 'node:stream';
import type { Exchange } from '../flow/exchange.js';
import type { ResponseWriter } from '../flow/response-writer.js';
import type { NetworkState } from './state.js';
import type { Fault, Profile } from '../../config/network.js';
import type { Condition } from './conditions.js';
import { outageDown } from './gate.js';
import { Shaper, type ShaperOptions } from './shaper.js';

const NO_PROFILE: Readonly<Profile> = Object.freeze({});

/** When an `outage` is down, the time it is up again; 0 while it is up. */
function outageHold(f: Extract<Fault, { type: 'outage' }>, since: number) {
  return (now: number) => {
    if (!outageDown(f, since, now)) return 0;
    const phase = (now - since) % f.everyMs;
    return now + (f.everyMs - phase);
  };
}

/** Whether `c` changes the bytes of one direction at all (a rate, loss, an outage, or latency per chunk). */
export function shapes(c: Condition | undefined, direction: 'down' | 'up', perChunkLatency: boolean): boolean {
  if (!c) return false;
  if (c.fault?.type === 'outage') return true;
  const p = c.profile;
  if (!p) return false;
  return (direction === 'down' ? p.downKbps : p.upKbps) !== undefined || Boolean(p.lossPercent) || (perChunkLatency && Boolean(p.latencyMs || p.jitterMs));
}

/** What a shaper of one direction of `c` does (nothing, when `c` shapes nothing there). */
function shaperOptions(c: Condition | undefined, direction: 'down' | 'up', perChunkLatency: boolean): ShaperOptions {
  if (!c || !shapes(c, direction, perChunkLatency)) return { profile: NO_PROFILE, perChunkLatency: false };
  const outage = c.fault?.type === 'outage' ? c.fault : undefined;
  const profile = c.profile ?? NO_PROFILE;
  const kbps = direction === 'down' ? profile.downKbps : profile.upKbps;
  return { kbps, profile, perChunkLatency, heldUntil: outage ? outageHold(outage, c.since) : undefined };
}

/** A shaper for one direction of `c`, or undefined when `c` shapes nothing there. */
export function shaperFor(c: Condition | undefined, direction: 'down' | 'up', perChunkLatency: boolean): Shaper | undefined {
  if (!c || !shapes(c, direction, perChunkLatency)) return undefined;
  const shaper = new Shaper(shaperOptions(c, direction, perChunkLatency));
  // A write after its reader left (the client closed) is dropped with it.
  shaper.on('error', () => undefined);
  return shaper;
}

/**
 * Cuts the response once `afterBytes` body bytes have gone out (`reset`, 0: right after the head):
 * over HTTP/1.1 the client sees a short body and a closed connection, as on a reset link; over h2
 * that stream alone is reset with CANCEL (proxy/flow/response-writer.ts).
 */
class CutAfter extends WritableStream {
  private sent = 0;
  private readonly res: Writable;

  constructor(private readonly ex: Exchange, private readonly writer: ResponseWriter, private readonly afterBytes: number) {
    super();
    this.res = writer.body;
    // Writes that come after the cut (the upstream's next chunk) are dropped, not an error of anyone's.
    this.on('error', () => undefined);
    if (afterBytes === 0) queueMicrotask(() => this.cut());
  }

  private cut(last?: Buffer): void {
    if (this.ex.state === 'ended') return;
    this.ex.abortUpstream();
    this.ex.finish('cut');
    this.writer.cutAfter(last);
    this.destroy();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const room = this.afterBytes - this.sent;
    if (chunk.length < room) {
      this.sent += chunk.length;
      this.ex.bytesToClient += chunk.length;
      if (this.res.write(chunk)) cb();
      else this.res.once('drain', () => cb());
      return;
    }
    this.sent = this.afterBytes;
    this.cut(room > 0 ? chunk.subarray(0, room) : undefined);
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.res.end();
    cb();
  }
}

/**
 * What the response body is written to: `res` itself, or a shaper (downKbps, loss, outage)
 * that writes to `res`, or a cutter (`reset`). Writing, `'drain'` and `end()` work on it as on `res`.
 */
export function responseSink(ex: Exchange, writer: ResponseWriter): Writable {
  const res = writer.body;
  const c = ex.network;
  if (!c) return res;
  if (c.fault?.type === 'reset') return new CutAfter(ex, writer, c.fault.afterBytes ?? 0);
  const shaper = shaperFor(c, 'down', false);
  if (!shaper) return res;
  shaper.pipe(res);
  shaper.on('data', (chunk: Buffer) => { ex.bytesToClient += chunk.length; });
  res.on('close', () => shaper.destroy());
  return shaper;
}

/** The upload as the upstream reads it: the client's stream itself, or that stream read no faster than upKbps. */
export function uploadSource(ex: Exchange, body: Readable): Readable {
  const shaper = shaperFor(ex.network, 'up', false);
  if (!shaper) return body;
  body.pipe(shaper);
  shaper.on('close', () => body.unpipe(shaper));
  return shaper;
}

/** How the WebSocket path relays one direction (proxy/engine/websocket.ts `relay`); returns what detaches it. */
export type Relay = (from: Duplex, to: Duplex, count: (chunk: Buffer) => void) => () => void;

/**
 * One direction of an open WebSocket under the network conditions (docs/network.md): `from` relayed to
 * `to` directly while nothing shapes it (no stream, no timer), or through a shaper that adds the
 * latency to each chunk in order. The conditions follow the network object while the socket is
 * open: a phone put on `slow-3g` from the dashboard has its open socket's next bytes shaped.
 * The first condition that shapes a direction puts a shaper in it; later changes reconfigure
 * that shaper in place, so bytes keep their order.
 */
export class SocketDirection {
  private shaper?: Shaper;
  private readonly detach: () => void;

  constructor(ex: Exchange, private readonly from: Duplex, private readonly to: Duplex,
    private readonly direction: 'down' | 'up', private readonly relay: Relay, private readonly count: (chunk: Buffer) => void) {
    const shaper = shaperFor(ex.network, direction, true);
    this.detach = shaper ? () => undefined : relay(from, to, count);
    if (shaper) this.through(shaper);
  }

  /** The condition in force for this socket is now `c`. */
  follow(c: Condition | undefined): void {
    if (this.shaper) { this.shaper.reconfigure(shaperOptions(c, this.direction, true)); return; }
    const shaper = shaperFor(c, this.direction, true);
    if (!shaper || this.from.destroyed || this.from.readableEnded || this.to.destroyed) return;
    // The direct relay writes each chunk as it reads it: nothing is held between the two, so the
    // shaper's bytes follow the relay's in order.
    this.detach();
    this.through(shaper);
  }

  private through(shaper: Shaper): void {
    this.shaper = shaper;
    const { from, to } = this;
    from.pipe(shaper);
    // `from` closing ends the shaper once what it holds has gone out, so a last frame before a close is not lost.
    from.once('close', () => { if (!shaper.writableEnded) shaper.end(); });
    this.relay(shaper, to, this.count);
    // The sockets still close each other: the upstream's last bytes get FLUSH_MS to reach the
    // client; a client that left takes the upstream with it at once.
    if (this.direction === 'down') from.once('close', () => setTimeout(() => to.destroy(), SHAPED_FLUSH_MS).unref());
    else from.once('close', () => to.destroy());
  }
}

/** A shaped socket whose upstream closed gets this long to pass on what the shaper still holds. */
const SHAPED_FLUSH_MS = 2000;

/** Both directions of an open socket follow the network object until the client's socket closes. */
export function followConditions(ex: Exchange, network: NetworkState, client: Duplex, directions: SocketDirection[]): void {
  const onChange = () => { const c = network.current(ex.client, ex.host); for (const d of directions) d.follow(c); };
  network.on('change', onChange);
  client.once('close', () => network.off('change', onChange));
}

/**
 * `socket-drop` (docs/network.md): the client's socket is destroyed without a close frame (the client sees
 * 1006) `afterMs` after it opened or after the rule took effect, whichever is later. A rule set
 * while the socket is open applies to it too.
 */
export function watchSocketDrop(ex: Exchange, network: NetworkState, client: Duplex, upstream: Duplex): void {
  const openedAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const arm = (c: Condition | undefined) => {
    clearTimeout(timer);
    timer = undefined;
    if (c?.fault?.type !== 'socket-drop') return;
    const at = Math.max(openedAt, c.since) + (c.fault.afterMs ?? 0);
    timer = setTimeout(() => {
      ex.abortUpstream();
      upstream.destroy();
      client.destroy();
    }, Math.max(0, at - performance.now()));
  };
  arm(ex.network);
  const onChange = () => arm(network.current(ex.client, ex.host));
  network.on('change', onChange);
  client.once('close', () => {
    clearTimeout(timer);
    network.off('change', onChange);
  });
}
