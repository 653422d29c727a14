/**
 * The recent finished exchanges the dashboard lists (docs/dashboard.md), off the JavaScript heap:
 * numbers in typed-array columns, text (URL, client, headers…) UTF-8 in one byte arena written
 * in turn, newest over oldest. Kept as objects, the 10,000 newest exchanges each outlived two
 * young-generation collections, so every one was copied twice and promoted to die in the old
 * generation (bench/README.md); here keeping one costs a few buffer writes and no object, and an
 * exchange becomes objects again only when the admin API asks for it.
 */

/** What a record holds besides its numbers: strings, and header lists as flat name, value… lists. */
export interface RingText {
  client: string;
  clientName?: string;
  method: string;
  url: string;
  api: string;
  outcome?: string;
  protocol: string;
  /** Rule ids of its violations, in order. */
  violations: readonly string[];
  /** The map rule, as JSON (docs/toolkit.md), when one took it. */
  mapped?: string;
  scheme: string;
  host: string;
  path: string;
  requestHeaders: readonly string[];
  /** A flat list, or a header object as Node's (an array value is one field per element, undefined none). */
  responseHeaders: readonly string[] | Readonly<Record<string, unknown>>;
}

/** The decoded record: its header lists flat. */
export type RingRecord = RingNumbers & Omit<RingText, 'responseHeaders'> & { responseHeaders: string[] };

export interface RingNumbers {
  id: number;
  /** Epoch ms. */
  start: number;
  status?: number;
  port: number;
  firstByteMs?: number;
  durationMs?: number;
  bytesIn: number;
  bytesOut: number;
}


const ARENA_BYTES = 16 * 1024 * 1024;
/** Past this a record keeps no headers (Node's and undici's 16 KiB head limits keep real ones far below). */
const MAX_RECORD_BYTES = ARENA_BYTES / 8;

const NUMBERS = ['id', 'start', 'status', 'port', 'firstByteMs', 'durationMs', 'bytesIn', 'bytesOut'] as const;

export class ExchangeRing {
  private readonly nums: Record<(typeof NUMBERS)[number], Float64Array>;
  private readonly off: Uint32Array;
  private readonly len: Uint32Array;
  /** Slot of each kept id. */
  private readonly slotOf = new Map<number, number>();
  private arena?: Buffer;
  private pos = 0;
  /** Oldest slot, and how many are kept. */
  private head = 0;
  private count = 0;
  /** Told the id of each record that leaves (the replay bodies it holds go with it). */
  onEvict?: (id: number) => void;

  constructor(readonly capacity: number) {
    this.nums = Object.fromEntries(NUMBERS.map((k) => [k, new Float64Array(capacity)])) as ExchangeRing['nums'];
    this.off = new Uint32Array(capacity);
    this.len = new Uint32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  has(id: number): boolean {
    return this.slotOf.has(id);
  }

  /** Keeps a record; the oldest leave when the slots or the arena are full. */
  add(n: RingNumbers, t: RingText): void {
    // Allocated on the first record: an idle proxy keeps no arena (its pages are touched as written).
    const arena = (this.arena ??= Buffer.allocUnsafe(ARENA_BYTES));
    if (this.count === this.capacity) this.evictOldest();
    let withHeaders = true;
    let need = bound(t, true);
    if (need > MAX_RECORD_BYTES) { withHeaders = false; need = bound(t, false); }
    if (this.pos + need > arena.length) this.pos = 0;
    // The oldest records lie just ahead of the write position: they go while they overlap it.
    while (this.count > 0 && this.overlaps(this.head, this.pos, need)) this.evictOldest();
    const slot = (this.head + this.count) % this.capacity;
    const start = this.pos;
    let p = start;
    const str = (s: string) => { const k = arena.write(s, p + 4, 'utf8'); arena.writeUInt32LE(k, p); p += 4 + k; };
    const list = (xs: readonly string[]) => { arena.writeUInt32LE(xs.length, p); p += 4; for (const x of xs) str(x); };
    const fields = (h: RingText['responseHeaders']) => {
      if (Array.isArray(h)) { list(h); return; }
      // name, value for each field of the object, as Object.entries would list them.
      const at = p;
      p += 4;
      let n = 0;
      const o = h as Readonly<Record<string, unknown>>;
      for (const name in o) {
        const v = o[name];
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const x of v) { str(name); str(String(x)); n += 2; }
        else { str(name); str(String(v)); n += 2; }
      }
      arena.writeUInt32LE(n, at);
    };
    str(t.client); str(t.clientName ?? '\u0000'); str(t.method); str(t.url); str(t.api); str(t.outcome ?? '\u0000'); str(t.protocol);
    list(t.violations); str(t.mapped ?? ''); str(t.scheme); str(t.host); str(t.path);
    list(withHeaders ? t.requestHeaders : []); fields(withHeaders ? t.responseHeaders : []);
    this.pos = p;
    this.off[slot] = start;
    this.len[slot] = p - start;
    const { nums } = this;
    nums.id[slot] = n.id; nums.start[slot] = n.start; nums.status[slot] = n.status ?? NaN; nums.port[slot] = n.port;
    nums.firstByteMs[slot] = n.firstByteMs ?? NaN; nums.durationMs[slot] = n.durationMs ?? NaN; nums.bytesIn[slot] = n.bytesIn; nums.bytesOut[slot] = n.bytesOut;
    this.slotOf.set(n.id, slot);
    this.count++;
  }

  /** The kept record of `id`, decoded. */
  get(id: number): RingRecord | undefined {
    const slot = this.slotOf.get(id);
    return slot === undefined ? undefined : this.decode(slot);
  }

  /** The start (epoch ms) of a kept id, read without decoding it. */
  startOf(id: number): number | undefined {
    const slot = this.slotOf.get(id);
    return slot === undefined ? undefined : this.nums.start[slot];
  }

  /** Kept records, newest first, while `visit` wants more (it returns false to stop). */
  newestFirst(visit: (r: RingRecord) => boolean): void {
    for (let k = 0; k < this.count; k++) if (!visit(this.at(k))) return;
  }

  /** The k-th newest record (0: the newest), decoded. */
  at(k: number): RingRecord {
    return this.decode(this.slotAt(k));
  }

  private slotAt(k: number): number {
    return (this.head + this.count - 1 - k) % this.capacity;
  }

  /** The client of the k-th newest record: a filter that decodes nothing else. */
  clientAt(k: number): string {
    const slot = this.slotAt(k);
    const arena = this.arena!;
    const o = this.off[slot]!;
    return arena.toString('utf8', o + 4, o + 4 + arena.readUInt32LE(o));
  }

  private overlaps(slot: number, from: number, need: number): boolean {
    const o = this.off[slot]!;
    return o < from + need && o + this.len[slot]! > from;
  }

  private evictOldest(): void {
    const id = this.nums.id[this.head]!;
    this.slotOf.delete(id);
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    this.onEvict?.(id);
  }

  private decode(slot: number): RingRecord {
    const arena = this.arena!;
    let p = this.off[slot]!;
    const str = () => { const k = arena.readUInt32LE(p); const s = arena.toString('utf8', p + 4, p + 4 + k); p += 4 + k; return s; };
    const list = () => { const n = arena.readUInt32LE(p); p += 4; const out: string[] = []; for (let i = 0; i < n; i++) out.push(str()); return out; };
    const opt = (s: string) => (s === '\u0000' ? undefined : s);
    const client = str(); const clientName = opt(str()); const method = str(); const url = str(); const api = str(); const outcome = opt(str()); const protocol = str();
    const violations = list(); const mapped = str(); const scheme = str(); const host = str(); const path = str();
    const requestHeaders = list(); const responseHeaders = list();
    const { nums } = this;
    const num = (x: number) => (Number.isNaN(x) ? undefined : x);
    return {
      id: nums.id[slot]!, start: nums.start[slot]!, status: num(nums.status[slot]!), port: nums.port[slot]!,
      firstByteMs: num(nums.firstByteMs[slot]!), durationMs: num(nums.durationMs[slot]!), bytesIn: nums.bytesIn[slot]!, bytesOut: nums.bytesOut[slot]!,
      client, ...(clientName === undefined ? {} : { clientName }), method, url, api, ...(outcome === undefined ? {} : { outcome }), protocol,
      violations, ...(mapped === '' ? {} : { mapped }), scheme, host, path, requestHeaders, responseHeaders,
    };
  }
}

/** At most the bytes `add` writes for `t`: 4 per length, 3 per UTF-16 unit. */
function bound(t: RingText, headers: boolean): number {
  let n = 0;
  const s = (x: string | undefined) => { n += 4 + 3 * (x?.length ?? 1); };
  s(t.client); s(t.clientName); s(t.method); s(t.url); s(t.api); s(t.outcome); s(t.protocol); s(t.mapped); s(t.scheme); s(t.host); s(t.path);
  n += 12;
  for (const v of t.violations) s(v);
  if (headers) {
    for (const h of t.requestHeaders) s(h);
    const h = t.responseHeaders;
    if (Array.isArray(h)) for (const x of h) s(x);
    else {
      const o = h as Readonly<Record<string, unknown>>;
      // A value that is no string (a number, an array) is bounded by its String() form.
      for (const name in o) { const v = o[name]; if (v === undefined) continue; if (Array.isArray(v)) for (const x of v) { s(name); s(String(x)); } else { s(name); s(typeof v === 'string' ? v : String(v)); } }
    }
  }
  return n;
}
