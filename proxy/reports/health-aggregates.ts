/**
 * The bounded aggregates the health report folds exchanges into (docs/health.md): a top-N list, a
 * log-bucket latency histogram per domain, a concurrency series per API that halves its resolution
 * instead of growing, and the incremental hash of one large body. Each keeps a fixed amount of memory
 * whatever the number of exchanges.
 */
import crypto from 'node:crypto';
import type { Api } from '../../config/vocabulary.js';

/** The concurrency series: at most this many buckets; when full, each two merge into one twice as wide. */
const SERIES_BUCKETS = 600;
const FIRST_BUCKET_MS = 100;
export const APIS: readonly Api[] = ['request', 'uploadFile', 'downloadFile', 'connectSocket'];
export const API_INDEX: Readonly<Record<Api, number>> = { request: 0, uploadFile: 1, downloadFile: 2, connectSocket: 3 };

/** In-flight calls per API over time, as the HTML page draws them against each cap. */
export interface SeriesDrawing { bucketMs: number; startMs: number; apis: Partial<Record<Api, number[]>> }

/** The N largest by value, kept sorted (largest first); `make` runs only for a value that gets in. */
export class TopN<T> {
  private readonly values: number[] = [];
  private readonly items: T[] = [];
  constructor(private readonly n: number) {}

  /** Whether `value` would get in: test this first, so that nothing is built for a value that does not. */
  takes(value: number): boolean {
    return this.values.length < this.n || value > this.values[this.values.length - 1]!;
  }

  offer(value: number, make: () => T): void {
    if (!this.takes(value)) return;
    let i = this.values.length;
    while (i > 0 && this.values[i - 1]! < value) i--;
    this.values.splice(i, 0, value);
    this.items.splice(i, 0, make());
    if (this.values.length > this.n) { this.values.pop(); this.items.pop(); }
  }

  list(): T[] {
    return [...this.items];
  }
}

/** Latencies in buckets 5 % wide (1 ms to ~10 min): percentiles within 5 %, in constant memory. */
const LOG_STEP = Math.log(1.05);
const BUCKETS = 300;
const bucketOf = (ms: number) => (ms <= 1 ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(ms) / LOG_STEP)));
const bucketTop = (i: number) => (i === 0 ? 1 : Math.exp(i * LOG_STEP));

export class DomainStats {
  requests = 0; bytesDown = 0; bytesUp = 0; errors = 0;
  timed = 0; maxMs = 0;
  hist?: Uint32Array;
  judgedH2 = 0; onH2 = 0;
  compressible = 0; compressed = 0;
  cacheable = 0; hits = 0;

  time(ms: number): void {
    this.hist ??= new Uint32Array(BUCKETS);
    this.hist[bucketOf(ms)]!++;
    this.timed++;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  percentile(p: number): number {
    if (!this.hist || this.timed === 0) return 0;
    const want = Math.ceil(p * this.timed);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.hist[i]!;
      if (seen >= want) return Math.round(Math.min(bucketTop(i), this.maxMs));
    }
    return Math.round(this.maxMs);
  }
}

/** Per API, per client, how many calls are forwarded and not ended; the series keeps each bucket's highest. */
export class ConcurrencySeries {
  private readonly perClient = new Map<string, Int32Array>();
  readonly max = new Int32Array(4);
  private bucketMs = FIRST_BUCKET_MS;
  private start = -1;
  private readonly buckets = APIS.map(() => [] as number[]);

  change(client: string, api: Api, delta: 1 | -1, now: number): void {
    let counts = this.perClient.get(client);
    if (!counts) this.perClient.set(client, (counts = new Int32Array(4)));
    const a = API_INDEX[api];
    const n = (counts[a]! += delta);
    if (n === 0 && counts[0] === 0 && counts[1] === 0 && counts[2] === 0 && counts[3] === 0) this.perClient.delete(client);
    if (n > this.max[a]!) this.max[a] = n;
    if (this.start < 0) this.start = now;
    let i = Math.floor((now - this.start) / this.bucketMs);
    while (i >= SERIES_BUCKETS) {
      this.halve();
      i = Math.floor((now - this.start) / this.bucketMs);
    }
    const row = this.buckets[a]!;
    while (row.length <= i) row.push(row.length === 0 ? 0 : -1);
    if (n > row[i]!) row[i] = n;
  }

  private halve(): void {
    this.bucketMs *= 2;
    for (const row of this.buckets) {
      const merged: number[] = [];
      for (let i = 0; i < row.length; i += 2) merged.push(Math.max(row[i]!, row[i + 1] ?? -1));
      row.splice(0, row.length, ...merged);
    }
  }

  /** Each API's highest in-flight count per bucket; a bucket where nothing changed carries the last value on. */
  drawing(): SeriesDrawing {
    const apis: Partial<Record<Api, number[]>> = {};
    for (const api of APIS) {
      const row = this.buckets[API_INDEX[api]]!;
      if (row.length === 0) continue;
      let last = 0;
      apis[api] = row.map((v) => (v < 0 ? last : (last = v)));
    }
    return { bucketMs: this.bucketMs, startMs: this.start, apis };
  }
}

/** One body above 128 KB being hashed as it streams (sha256 is incremental). */
export class BodyHash {
  readonly hash = crypto.createHash('sha256');
  bytes = 0;
}
