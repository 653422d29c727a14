/**
 * The concurrency slots shared by `concurrency-queued` and `concurrency-exceeded` (docs/device.md):
 * per client source IP, each platform's caps, one per API (Douyin's mini game: request 15,
 * uploadFile 5, downloadFile 5; Baidu: request per host), or one shared by the HTTP APIs when the
 * config writes `concurrency.http`. An exchange needs room in every cap of its API; it holds one
 * place in each from its admission to its end. A cap's waiters are served first come first served:
 * a freed place goes to the oldest waiter at once, and a newcomer never passes a waiter.
 */
import type { ProxyContext } from '../context.js';
import type { Cap, PlatformProfile } from '../../config/platforms.js';
import type { Api } from '../../config/vocabulary.js';
import type { QueueHolder } from '../flow/events.js';
import type { Exchange } from '../flow/exchange.js';

/** One cap of one platform, numbered so that it has a counter of its own. */
interface Slot { id: number; cap: Cap; platform: PlatformProfile }
/** A full cap met by an exchange: `n` exchanges hold it now. */
export interface Breach { slot: Slot; n: number; holders: readonly QueueHolder[] }

const NO_BREACHES: Breach[] = [];

export interface Slots {
  /** Per platform (config order) that has no room for `ex`, its first full cap; empty when every one has room. */
  breaches(ex: Exchange): readonly Breach[];
  /** Takes a place in every cap of `ex`'s API, on every platform. */
  acquire(ex: Exchange): void;
  /**
   * Puts `ex` in line for the first platform's caps; `admitted` is called once it holds its places
   * (at once when there is room).
   */
  enqueue(ex: Exchange, admitted: () => void): void;
  /** `ex` ended: gives back its places (the next waiter gets each) or takes it out of its line. */
  release(ex: Exchange): void;
  /** What a breach means, for the event's message. */
  describe(b: Breach, ex: Exchange): string;
}

export function createSlots(ctx: Pick<ProxyContext, 'config'>): Slots {
  const { device, platforms } = ctx.config;
  let nextId = 0;
  const byPlatform = platforms.map((p) => ctx.config.caps.get(p.name)!.map((cap) => ({ id: nextId++, cap, platform: p })));
  // Per API, per platform (config order), the caps that count it: compiled once.
  const table = new Map<Api, Slot[][]>((['request', 'uploadFile', 'downloadFile', 'connectSocket'] as const).map((api) => [
    api, byPlatform.map((slots) => slots.filter((s) => s.cap.apis.includes(api))),
  ]));
  const allOf = new Map<Api, Slot[]>([...table].map(([api, perPlatform]) => [api, perPlatform.flat()]));

  /** Who holds each cap's places, per client (and host, for a per-host cap). */
  const held = new Map<string, Set<Exchange>>();
  const lines = new Map<string, Exchange[]>();
  const holding = new WeakMap<Exchange, readonly string[]>();
  const inLine = new WeakMap<Exchange, { key: string; wake: () => void }>();

  /** Per API: whether one of its caps counts per host (its keys then name the host too). */
  const perHost = new Map<Api, boolean>([...allOf].map(([api, slots]) => [api, slots.some((s) => s.cap.perHost)]));
  /**
   * Per client, each slot's key and each API's list of keys, made once: every exchange of the
   * client reads them (a per-host cap's key is made per exchange). Bounded by the clients seen.
   */
  const clientKeys = new Map<string, { bySlot: string[]; byApi: Partial<Record<Api, readonly string[]>> }>();
  const keysOfClient = (client: string) => {
    let k = clientKeys.get(client);
    if (!k) clientKeys.set(client, (k = { bySlot: [], byApi: {} }));
    return k;
  };
  const keyOf = (s: Slot, ex: Exchange) => {
    if (s.cap.perHost) return `${s.id} ${ex.client} ${ex.host}`;
    const k = keysOfClient(ex.client);
    return (k.bySlot[s.id] ??= `${s.id} ${ex.client}`);
  };
  /** The keys of every cap counting `ex`, across platforms; the same array for every exchange of a client and API without a per-host cap. */
  const keysOf = (ex: Exchange): readonly string[] => {
    const slots = allOf.get(ex.api)!;
    if (perHost.get(ex.api)) return slots.map((s) => keyOf(s, ex));
    const k = keysOfClient(ex.client);
    return (k.byApi[ex.api] ??= slots.map((s) => keyOf(s, ex)));
  };
  const holdersOf = (key: string): QueueHolder[] => [...held.get(key) ?? []].map((h) => ({ id: h.id, method: h.method, url: h.url }));
  /**
   * The first cap of `slots` with no room for `ex`: full, or (for a newcomer, `queued` false) with
   * someone already waiting for it. A waiter just woken is the head of its line.
   */
  const full = (slots: readonly Slot[], ex: Exchange, queued = false): { slot: Slot; key: string } | undefined => {
    for (const slot of slots) {
      const key = keyOf(slot, ex);
      if ((held.get(key)?.size ?? 0) >= slot.cap.max || (!queued && (lines.get(key)?.length ?? 0) > 0)) return { slot, key };
    }
    return undefined;
  };
  const acquire = (ex: Exchange) => {
    const keys = keysOf(ex);
    for (const k of keys) {
      let set = held.get(k);
      if (!set) held.set(k, (set = new Set()));
      set.add(ex);
    }
    holding.set(ex, keys);
  };
  const join = (ex: Exchange, key: string, wake: () => void) => {
    inLine.set(ex, { key, wake });
    const line = lines.get(key);
    if (line) line.push(ex);
    else lines.set(key, [ex]);
  };
  const leaveLine = (ex: Exchange, key: string) => {
    const line = lines.get(key);
    const at = line?.indexOf(ex) ?? -1;
    if (line && at >= 0) line.splice(at, 1);
    if (line?.length === 0) lines.delete(key);
  };
  /**
   * The oldest waiter of `key`'s line takes the place that just freed. One the proxy already
   * answered while it waited (background mode) is passed over: it ends without a place.
   */
  const serve = (key: string) => {
    for (let next = lines.get(key)?.[0]; next; next = lines.get(key)?.[0]) {
      leaveLine(next, key);
      const w = inLine.get(next)!;
      if (next.state === 'queued') { w.wake(); return; }
      inLine.delete(next);
    }
  };

  return {
    breaches: (ex) => {
      let out: Breach[] | undefined;
      for (const slots of table.get(ex.api)!) {
        const f = full(slots, ex);
        if (f) (out ??= []).push({ slot: f.slot, n: held.get(f.key)?.size ?? 0, holders: holdersOf(f.key) });
      }
      return out ?? NO_BREACHES;
    },
    acquire,
    enqueue: (ex, admitted) => {
      const first = table.get(ex.api)![0]!;
      // Woken when a place it waits for frees; it may then wait for another of the first platform's caps.
      const wake = () => {
        inLine.delete(ex);
        const f = full(first, ex, true);
        if (f) { join(ex, f.key, wake); return; }
        acquire(ex);
        admitted();
      };
      const f = full(first, ex);
      if (f) join(ex, f.key, wake);
      else wake();
    },
    release: (ex) => {
      const keys = holding.get(ex);
      if (keys !== undefined) {
        holding.delete(ex);
        for (const k of keys) {
          const set = held.get(k)!;
          set.delete(ex);
          if (set.size === 0) held.delete(k);
          serve(k);
        }
        return;
      }
      const w = inLine.get(ex);
      if (!w) return;
      inLine.delete(ex);
      leaveLine(ex, w.key);
      // Its place in line is free at once: the next waiter may now fit (a newcomer never passes a waiter).
      const set = held.get(w.key);
      const slot = allOf.get(ex.api)!.find((s) => keyOf(s, ex) === w.key);
      if (slot && (set?.size ?? 0) < slot.cap.max) serve(w.key);
    },
    describe: (b, ex) => {
      const s = b.slot;
      const apis = s.cap.apis.join('/');
      const where = s.cap.perHost ? ` to ${ex.host}` : '';
      const per = s.cap.perHost ? ' per host' : '';
      // Baidu's caps differ by OS: say which one was assumed (`device`).
      const os = s.platform.name === 'baidu' ? ` on ${device === 'ios' ? 'iOS' : 'Android'}` : '';
      const who = platforms.length > 1 || s.platform.name !== 'tcsas' ? `${s.platform.title}${os}: ` : '';
      return ex.isWebSocket && apis === 'connectSocket'
        ? `${who}${ex.client} already has ${b.n} sockets open (max ${s.cap.max})`
        : `${who}${ex.client} already has ${b.n} ${apis} in flight${where} (max ${s.cap.max}${per})`;
    },
  };
}
