/**
 * `concurrency-exceeded` (SPEC §4, §10 "Concurrency", §12): per client source IP, each platform's
 * caps (TCSAS: 10 shared by request + uploadFile + downloadFile, 5 open sockets; Douyin mini game:
 * request 15, uploadFile 5, downloadFile 5; Baidu: 5 requests per host on Android), all checked on
 * every exchange. Over the first platform's cap: 429 with `overflow: "reject"`, or held until a
 * slot frees with `"queue"` (recorded as `queued`). Over a later platform's only, or in `report`
 * mode: the request goes on and is recorded. Slots are released in `onEnd`, however the exchange
 * ended, and a freed slot wakes the next one waiting for it.
 */
import type { ProxyContext } from '../context.js';
import type { Cap, PlatformProfile } from '../../config/platforms.js';
import type { Api } from '../../config/schema.js';
import type { Exchange } from '../flow/exchange.js';
import type { Finding, Rule } from './types.js';

/** One cap of one platform, numbered so that it has a counter of its own. */
interface Slot { id: number; cap: Cap; platform: PlatformProfile }

export function concurrencyExceeded(ctx: Pick<ProxyContext, 'config'>): Rule {
  const { overflow } = ctx.config.concurrency;
  const { device, platforms } = ctx.config;
  // Per API, per platform (config order), the caps that count it: compiled once.
  let nextId = 0;
  const byPlatform = platforms.map((p) => ctx.config.caps.get(p.name)!.map((cap) => ({ id: nextId++, cap, platform: p })));
  const slotsOf = (api: Api): Slot[][] => byPlatform.map((slots) => slots.filter((s) => s.cap.apis.includes(api)));
  const table = new Map<Api, Slot[][]>((['request', 'uploadFile', 'downloadFile', 'connectSocket'] as const).map((api) => [api, slotsOf(api)]));
  // Every platform's slots of an API in one list, for taking and giving back slots.
  const allOf = new Map<Api, Slot[]>([...table].map(([api, perPlatform]) => [api, perPlatform.flat()]));

  const used = new Map<string, number>();
  const queues = new Map<string, Exchange[]>();
  const holding = new WeakMap<Exchange, string[]>();
  const waiting = new WeakMap<Exchange, { key: string; admit: () => void }>();

  const keyOf = (s: Slot, ex: Exchange) => (s.cap.perHost ? `${s.id} ${ex.client} ${ex.host}` : `${s.id} ${ex.client}`);
  /** The first full cap of `slots` for this exchange. */
  const full = (slots: readonly Slot[], ex: Exchange) => {
    for (const s of slots) {
      const n = used.get(keyOf(s, ex)) ?? 0;
      if (n >= s.cap.max) return { slot: s, n };
    }
    return undefined;
  };
  const acquire = (ex: Exchange) => {
    const slots = allOf.get(ex.api)!;
    const keys = new Array<string>(slots.length);
    for (let i = 0; i < slots.length; i++) keys[i] = keyOf(slots[i]!, ex);
    for (const k of keys) used.set(k, (used.get(k) ?? 0) + 1);
    holding.set(ex, keys);
  };
  const release = (key: string) => {
    const n = (used.get(key) ?? 1) - 1;
    if (n === 0) used.delete(key);
    else used.set(key, n);
    const queue = queues.get(key);
    const next = queue?.shift();
    if (queue?.length === 0) queues.delete(key);
    if (next) waiting.get(next)!.admit();
  };
  const enqueue = (ex: Exchange, key: string, admit: () => void) => {
    waiting.set(ex, { key, admit });
    const queue = queues.get(key) ?? [];
    queue.push(ex);
    queues.set(key, queue);
  };

  const what = (s: Slot, ex: Exchange, n: number) => {
    const apis = s.cap.apis.join('/');
    const where = s.cap.perHost ? ` to ${ex.host}` : '';
    const per = s.cap.perHost ? ' per host' : '';
    // Baidu's caps differ by OS: say which one was assumed (SPEC §12 `device`).
    const os = s.platform.name === 'baidu' ? ` on ${device === 'ios' ? 'iOS' : 'Android'}` : '';
    const who = platforms.length > 1 || s.platform.name !== 'tcsas' ? `${s.platform.title}${os}: ` : '';
    return ex.isWebSocket && apis === 'connectSocket'
      ? `${who}${ex.client} already has ${n} sockets open (max ${s.cap.max})`
      : `${who}${ex.client} already has ${n} ${apis} in flight${where} (max ${s.cap.max}${per})`;
  };

  return {
    ids: ['concurrency-exceeded'],
    onRequest: (ex) => {
      const perPlatform = table.get(ex.api)!;
      let breaches: { slot: Slot; n: number }[] | undefined;
      for (const slots of perPlatform) {
        const breach = full(slots, ex);
        if (breach) (breaches ??= []).push(breach);
      }
      if (!breaches) { acquire(ex); return undefined; }
      const finding: Finding = {
        rule: 'concurrency-exceeded', severity: 'error',
        platforms: breaches.map((b) => b.slot.platform.name),
        message: breaches.map((b) => what(b.slot, ex, b.n)).join('; '),
        // Going on anyway (report mode, or over a later platform's cap only): it holds its slots too.
        admit: () => acquire(ex),
      };
      if (overflow === 'reject') return finding;
      finding.hold = () => new Promise<void>((resolve) => {
        // Woken when a slot it waits for frees; it may then wait for another of the first platform's caps.
        const admit = () => {
          waiting.delete(ex);
          const still = full(perPlatform[0]!, ex);
          if (still) { enqueue(ex, keyOf(still.slot, ex), admit); return; }
          acquire(ex);
          resolve();
        };
        enqueue(ex, keyOf(breaches[0]!.slot, ex), admit);
      });
      return finding;
    },
    onEnd: (ex) => {
      const keys = holding.get(ex);
      if (keys !== undefined) { holding.delete(ex); for (const k of keys) release(k); return; }
      // Left while queued: out of the line.
      const w = waiting.get(ex);
      if (!w) return;
      waiting.delete(ex);
      const queue = queues.get(w.key);
      const at = queue?.indexOf(ex) ?? -1;
      if (queue && at >= 0) queue.splice(at, 1);
      if (queue?.length === 0) queues.delete(w.key);
    },
  };
}
