/**
 * The recent finished exchanges the dashboard lists (docs/dashboard.md), off the JavaScript heap:
 * numbers in typed-array columns, text (URL, client, headers…) UTF-8 in one byte arena written
 * in turn, newest over oldest. Kept as objects, the 10,000 newest exchanges each outlived two
 * young-generation collections, so every one was copied twice and promoted to die in the old
 * generation (bench/README.md); here keeping one costs one string and one buffer write, and an
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
    let text = encode(t, true);
    // A UTF-16 unit is at most 3 bytes of UTF-8.
    if (text.length * 3 > MAX_RECORD_BYTES) text = encode(t, false);
    const need = text.length * 3;
    if (this.pos + need > arena.length) this.pos = 0;
    // The oldest records lie just ahead of the write position: they go while they overlap it.
    while (this.count > 0 && this.overlaps(this.head, this.pos, need)) this.evictOldest();
    const slot = (this.head + this.count) % this.capacity;
    const start = this.pos;
    // One write: the fields joined by NUL, which no header, URL or method can hold (RFC 9110 §5.5, RFC 3986).
    const p = start + arena.write(text, start, 'utf8');
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
    // The first field, up to the first NUL.
    return arena.toString('utf8', o, arena.indexOf(0, o));
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
    const o = this.off[slot]!;
    const f = this.arena!.toString('utf8', o, o + this.len[slot]!).split(SEP);
    let i = 0;
    const next = () => f[i++]!;
    const list = () => { const n = Number(next()); const out = f.slice(i, i + n); i += n; return out; };
    const opt = (x: string) => (x === ABSENT ? undefined : x);
    const client = next(); const clientName = opt(next()); const method = next(); const url = next(); const api = next(); const outcome = opt(next()); const protocol = next();
    const violations = list(); const mapped = next(); const scheme = next(); const host = next(); const path = next();
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

const SEP = '\u0000';
/** An optional field that is absent (no field holds this one control character alone). */
const ABSENT = '\u0001';

/**
 * A record's text: its fields joined by NUL, each list preceded by its length. A client name (the
 * only free text) has any NUL replaced; the rest cannot hold one.
 */
function encode(t: RingText, headers: boolean): string {
  const name = t.clientName === undefined ? ABSENT : t.clientName.replaceAll(SEP, '\uFFFD');
  let s = `${t.client}${SEP}${name}${SEP}${t.method}${SEP}${t.url}${SEP}${t.api}${SEP}${t.outcome ?? ABSENT}${SEP}${t.protocol}${SEP}${t.violations.length}`;
  for (const v of t.violations) s += SEP + v;
  s += `${SEP}${t.mapped ?? ''}${SEP}${t.scheme}${SEP}${t.host}${SEP}${t.path}`;
  const req = headers ? t.requestHeaders : [];
  s += SEP + req.length;
  for (const x of req) s += SEP + x;
  const h = headers ? t.responseHeaders : [];
  if (Array.isArray(h)) {
    s += SEP + h.length;
    for (const x of h) s += SEP + x;
    return s;
  }
  // name, value for each field of the object, as Object.entries would list them.
  let n = 0;
  let rest = '';
  const o = h as Readonly<Record<string, unknown>>;
  for (const key in o) {
    const v = o[key];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) { rest += `${SEP}${key}${SEP}${String(x)}`; n += 2; }
    else { rest += `${SEP}${key}${SEP}${String(v)}`; n += 2; }
  }
  return `${s}${SEP}${n}${rest}`;
}
