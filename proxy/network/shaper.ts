/**
 * One direction of a shaped link (docs/network.md): a Duplex that lets bytes out no faster than `kbps`
 * (a token bucket 50 ms deep, so a quiet link bursts no more than that), after `latencyMs` ± jitter
 * per chunk when asked (WebSocket frames), and with a TCP retransmission delay for a share of the
 * chunks. Order is always kept. It holds at most HIGH_WATER bytes: past that its writer waits, so
 * backpressure runs end to end and a body is never buffered whole. Created only for an exchange
 * that has a condition: an unconditioned one never meets a timer or a stream from here.
 */
import { Duplex } from 'node:stream';
import { drawLatency } from './gate.js';
import type { Profile } from '../../config/network.js';

/** The most a shaper holds before its writer waits. */
export const HIGH_WATER = 64 * 1024;
/** The largest slice let out at once: one TLS record. Slower links get slices of about 50 ms. */
const MAX_SLICE = 16 * 1024;
const MIN_SLICE = 512;
/** The bucket's depth: after a stall of the sender (a busy machine), this much time is made up at once. */
const BURST_MS = 50;
/** RFC 6298 §2.4 rounds a retransmission timeout up to 1 s; Linux uses 200 ms (TCP_RTO_MIN), as do we. */
export const MIN_RTO_MS = 200;

export interface ShaperOptions {
  /** The rate of this direction (the profile's downKbps or upKbps); unlimited when undefined. */
  kbps?: number;
  profile: Readonly<Profile>;
  /** Add the profile's latency to each chunk (WebSocket data); HTTP adds it once per exchange instead. */
  perChunkLatency: boolean;
  /** While this returns a time in the future (performance.now() ms), nothing flows (an outage). */
  heldUntil?: (now: number) => number;
  /** Sees each slice as it leaves (byte counts, the reset fault). */
  onSlice?: (slice: Buffer) => void;
}

interface Slice { data: Buffer; at: number }

export class Shaper extends Duplex {
  private readonly queue: Slice[] = [];
  private head = 0;
  private queued = 0;
  private nextFree = 0;
  private lastRelease = 0;
  private waiting?: () => void;
  private finishing?: (err?: Error | null) => void;
  private wantRead = false;
  private timer?: NodeJS.Timeout;
  private slice = MAX_SLICE;
  private rto = MIN_RTO_MS;

  constructor(private opts: ShaperOptions) {
    super({ allowHalfOpen: true });
    this.configure(opts);
  }

  private configure(opts: ShaperOptions): void {
    this.opts = opts;
    const bytesPer50Ms = opts.kbps === undefined ? MAX_SLICE : Math.round((opts.kbps * 1000) / 8 / 20);
    this.slice = Math.min(MAX_SLICE, Math.max(MIN_SLICE, bytesPer50Ms));
    this.rto = Math.max(MIN_RTO_MS, 2 * (opts.profile.latencyMs ?? 0));
  }

  /**
   * The link changed (a condition set while a WebSocket is open): bytes written from now on are
   * paced by `opts`. What is already queued keeps its order; when the new link is faster it goes
   * out no later than the new link would have let it.
   */
  reconfigure(opts: ShaperOptions): void {
    this.configure(opts);
    const now = performance.now();
    if (opts.kbps === undefined && !opts.heldUntil && !(opts.perChunkLatency && (opts.profile.latencyMs || opts.profile.jitterMs))) {
      for (let i = this.head; i < this.queue.length; i++) this.queue[i]!.at = Math.min(this.queue[i]!.at, now);
      this.nextFree = Math.min(this.nextFree, now);
      this.lastRelease = Math.min(this.lastRelease, now);
    }
    this.pump();
  }

  /** When each part of `chunk` leaves: after the bytes before it, its own transmission time, a lost chunk's retransmission, and the latency. */
  private schedule(chunk: Buffer, now: number): void {
    const { kbps, profile } = this.opts;
    const lost = (profile.lossPercent ?? 0) > 0 && Math.random() * 100 < profile.lossPercent!;
    const latency = this.opts.perChunkLatency ? drawLatency(profile) : 0;
    for (let off = 0; off < chunk.length; off += this.slice) {
      const data = chunk.subarray(off, off + this.slice);
      const start = Math.max(now - (kbps === undefined ? 0 : BURST_MS), this.nextFree);
      this.nextFree = start + (kbps === undefined ? 0 : (data.length * 8) / kbps) + (lost && off === 0 ? this.rto : 0);
      const at = Math.max(this.nextFree + latency, this.lastRelease);
      this.lastRelease = at;
      this.queue.push({ data, at });
      this.queued += data.length;
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.schedule(chunk, performance.now());
    if (this.queued < HIGH_WATER) cb();
    else this.waiting = () => cb();
    this.pump();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.finishing = cb;
    this.pump();
  }

  override _read(): void {
    this.wantRead = true;
    this.pump();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    cb(err);
  }

  /** Lets out every slice that is due, while the reader wants more; then sleeps until the next one. */
  private pump(): void {
    if (this.destroyed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = performance.now();
    const held = this.opts.heldUntil?.(now) ?? 0;
    if (held > now) {
      // An outage: nothing flows until the link is back, and the bytes after it are paced from then.
      this.nextFree = Math.max(this.nextFree, held);
      if (this.queue.length > this.head || this.finishing) this.timer = setTimeout(() => this.pump(), Math.max(1, held - now));
      return;
    }
    while (this.wantRead && this.head < this.queue.length && this.queue[this.head]!.at <= now) {
      const s = this.queue[this.head]!;
      this.queue[this.head++] = undefined as never;
      this.queued -= s.data.length;
      this.opts.onSlice?.(s.data);
      if (this.destroyed) return;
      this.wantRead = this.push(s.data);
    }
    if (this.head === this.queue.length) { this.queue.length = 0; this.head = 0; }
    else if (this.head > 1024) { this.queue.splice(0, this.head); this.head = 0; }
    if (this.queue.length === 0 && this.finishing) {
      const done = this.finishing;
      this.finishing = undefined;
      this.push(null);
      done();
      return;
    }
    if (this.wantRead && this.queue.length > 0) this.timer = setTimeout(() => this.pump(), Math.max(1, this.queue[this.head]!.at - now));
    // Last: the writer's next chunk may come at once, and pumps again.
    if (this.waiting && this.queued < HIGH_WATER) {
      const go = this.waiting;
      this.waiting = undefined;
      go();
    }
  }
}
