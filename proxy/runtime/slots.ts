/**
 * The device's caps and queue (docs/runtime.md "Caps and queueing"): each API has its own caps
 * (request, uploadFile, downloadFile: 10 each on WeChat-like platforms; the platform's own values
 * elsewhere), and a call over its cap waits, first come first served, until a slot of its API
 * frees ("request最大并发10个，超过会排队",
 * https://developers.weixin.qq.com/community/minigame/doc/0006c86870c65052677295f436b400).
 */
import type { Cap } from '../../config/platforms.js';

export interface Waiter {
  host: string;
  /** Called once, when the call may start. */
  start(): void;
}

export class Slots {
  private readonly counts = new Map<string, number>();
  private readonly queue: Waiter[] = [];

  /** `caps`: the platform's caps that name this API, each counted for this API alone. */
  constructor(private readonly caps: readonly Cap[]) {}

  private keys(host: string): [string, number][] {
    return this.caps.map((c, i) => [c.perHost ? `${i} ${host}` : `${i}`, c.max]);
  }

  private fits(host: string): boolean {
    return this.keys(host).every(([k, max]) => (this.counts.get(k) ?? 0) < max);
  }

  private take(host: string): void {
    for (const [k] of this.keys(host)) this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  /** Takes a slot now (true) or returns false when the API is at its cap. */
  tryTake(host: string): boolean {
    if (this.queue.length > 0 || !this.fits(host)) return false;
    this.take(host);
    return true;
  }

  /** Starts `w` now when a slot is free, else queues it; returns whether it waits. */
  enter(w: Waiter): boolean {
    if (this.tryTake(w.host)) { w.start(); return false; }
    this.queue.push(w);
    return true;
  }

  /** A call that waited and gave up (abort, background). */
  leave(w: Waiter): void {
    const i = this.queue.indexOf(w);
    if (i >= 0) this.queue.splice(i, 1);
  }

  release(host: string): void {
    for (const [k] of this.keys(host)) this.counts.set(k, Math.max(0, (this.counts.get(k) ?? 0) - 1));
    // First come first served, but a waiter for another host may pass one whose per-host cap is full.
    for (let i = 0; i < this.queue.length;) {
      const w = this.queue[i]!;
      if (this.fits(w.host)) {
        this.queue.splice(i, 1);
        this.take(w.host);
        w.start();
      } else {
        i++;
      }
    }
  }
}
