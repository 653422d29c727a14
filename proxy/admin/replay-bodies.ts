/**
 * Request bodies kept for replay and copy as cURL (docs/toolkit.md): each up to MAX_REPLAY_BODY_BYTES
 * (a bigger one is not kept), all together up to REPLAY_BODIES_BUDGET_BYTES (past it the oldest kept
 * bodies go first; an exchange whose body went answers 409 to a replay). Only exchanges whose
 * request has a body are watched; the chunks are the ones the proxy forwards, held (copied only when one is a small slice of a larger buffer).
 */
import type { Exchange } from '../flow/exchange.js';

export const MAX_REPLAY_BODY_BYTES = 1024 * 1024;
export const REPLAY_BODIES_BUDGET_BYTES = 64 * 1024 * 1024;

/** One request body on its way in or kept: `complete` once the request ended within the limits. */
export interface BodyKeep {
  chunks: Buffer[];
  size: number;
  complete: boolean;
  /** Over the limit, evicted, or released: its bytes are gone for good. */
  gone: boolean;
}

const hasBody = (ex: Exchange) => {
  const length = ex.req.headers['content-length'];
  return ex.req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
};

export class ReplayBodies {
  private used = 0;
  /** Kept bodies, oldest first (evicted from the front). */
  private readonly order = new Set<BodyKeep>();
  private readonly watching = new WeakMap<Exchange, BodyKeep>();

  constructor(private readonly budget = REPLAY_BODIES_BUDGET_BYTES, private readonly maxEach = MAX_REPLAY_BODY_BYTES) {}

  /** Taps the request body of `ex` (set before any body byte flows: at its 'exchange-start'). */
  watch(ex: Exchange): void {
    if (!hasBody(ex)) return;
    const keep: BodyKeep = { chunks: [], size: 0, complete: false, gone: false };
    this.watching.set(ex, keep);
    this.order.add(keep);
    const other = ex.requestBodyTap;
    const tap = (chunk: Buffer) => this.add(keep, chunk);
    ex.requestBodyTap = other ? (chunk) => { other(chunk); tap(chunk); } : tap;
    // A body the proxy never read (the exchange was blocked; Node drained it) passed no tap: the
    // sizes then disagree, and it counts as not kept.
    const length = ex.req.headers['content-length'];
    ex.req.once('end', () => {
      if (!keep.gone && (length === undefined ? keep.size > 0 : keep.size === Number(length))) keep.complete = true;
    });
  }

  private add(keep: BodyKeep, chunk: Buffer): void {
    if (keep.gone) return;
    if (keep.size + chunk.length > this.maxEach) { this.release(keep); return; }
    // A chunk may be a slice of a larger buffer (a socket read holding several records): kept as
    // a copy then, so the budget counts what is really held.
    keep.chunks.push(chunk.buffer.byteLength > chunk.length * 2 ? Buffer.from(chunk) : chunk);
    keep.size += chunk.length;
    this.used += chunk.length;
    for (const old of this.order) {
      if (this.used <= this.budget) break;
      this.release(old);
    }
  }

  /** The body of a finished exchange, handed over to its kept record. */
  taken(ex: Exchange): BodyKeep | undefined {
    const keep = this.watching.get(ex);
    this.watching.delete(ex);
    return keep;
  }

  release(keep: BodyKeep): void {
    if (keep.gone) return;
    keep.gone = true;
    keep.complete = false;
    this.used -= keep.size;
    keep.chunks = [];
    this.order.delete(keep);
  }

  /** The whole body, or undefined when it is not kept (whole). */
  bytes(keep: BodyKeep): Buffer | undefined {
    return keep.complete && !keep.gone ? Buffer.concat(keep.chunks, keep.size) : undefined;
  }
}
