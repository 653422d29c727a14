/**
 * The WebSocket messages kept per socket (docs/dashboard.md), bounded twice: a ring of the newest
 * MAX_MESSAGES_PER_SOCKET per socket, and at most MAX_MESSAGES_TOTAL messages holding
 * MAX_KEPT_BYTES of shown payload across all sockets (the oldest go first, whichever socket they
 * belong to). Counts per socket (messages and payload bytes each way) stay exact for the report.
 *
 * Messages are observed only while someone wants them: a HAR being recorded, or a dashboard
 * listening (SSE); a socket is observed from its 101 on if someone wanted it then, else from the
 * first message that begins once someone does. Until then only frame headers are read, to know
 * where messages begin (and to count them for a JSON report); the bytes pass unchanged.
 */
import { EventEmitter } from 'node:events';
import { type Direction, FrameTracker, SocketObserver, type WsMessage } from './observer.js';

export const MAX_MESSAGES_PER_SOCKET = 10_000;
export const MAX_MESSAGES_TOTAL = 100_000;
/** Shown payload (text or base64 characters) kept across all sockets. */
export const MAX_KEPT_BYTES = 128 * 1024 * 1024;
/** Sockets whose counts are kept for the report; past it the oldest finished ones go. */
export const MAX_TALLIED_SOCKETS = 100_000;

interface Kept { m: WsMessage; gone: boolean; log: SocketLog }

/** One socket's messages and counts. */
export interface SocketTally {
  socket: number;
  url: string;
  client: string;
  clientName?: string;
  /** Messages each way; counted from frame headers when the messages were not observed. */
  messages: Record<Direction, number>;
  /** Payload bytes each way (inflated), when observed; otherwise the wire bytes. */
  bytes: Record<Direction, number>;
  observed: boolean;
  /**
   * Epoch ms the observation started, when the socket was open before (a dashboard opened
   * later): counts before it come from frame headers (`bytes` then counts wire bytes).
   */
  observedSince?: number;
  /** Directions no longer (or never) observed, and why. */
  stopped?: Partial<Record<Direction, string>>;
  /** Messages that left memory (the ring or the total bound). */
  dropped: number;
}

export class SocketLog {
  readonly kept: Kept[] = [];
  head = 0;
  /** Messages observed so far (the next one's `seq`). */
  seq = 0;

  constructor(readonly tally: SocketTally) {}

  get size(): number {
    return this.kept.length - this.head;
  }

  shift(): Kept | undefined {
    const k = this.kept[this.head];
    if (!k) return undefined;
    this.head++;
    // Compacted in batches: one copy per 1,000 messages.
    if (this.head >= 1000 && this.head * 2 >= this.kept.length) { this.kept.splice(0, this.head); this.head = 0; }
    return k;
  }

  messages(): WsMessage[] {
    const out: WsMessage[] = [];
    for (let i = this.head; i < this.kept.length; i++) out.push(this.kept[i]!.m);
    return out;
  }
}

/** One socket's taps: tracks frame boundaries each way, observes messages once someone wants them. */
class LiveSocket implements SocketTap {
  private readonly trackers = { send: new FrameTracker(), receive: new FrameTracker() };
  /** Each direction is fed to the observer from a message's first frame on. */
  private readonly fed = { send: false, receive: false };
  private observer: SocketObserver | undefined;
  private ended: Promise<void> | undefined;

  constructor(private readonly store: SocketMessages, private readonly log: SocketLog, private readonly extensions: string | undefined) {
    if (store.watched) this.observe(false);
  }

  private observe(joinedLate: boolean): void {
    const { store, log } = this;
    const { tally } = log;
    tally.observed = true;
    if (joinedLate) tally.observedSince = Date.now();
    const observer = new SocketObserver({
      socket: tally.socket, extensions: this.extensions, joinedLate,
      onMessage: (m) => store.add(log, m),
      onStop: (type, reason) => store.stopped(log, type, reason),
    });
    this.observer = observer;
    if (!joinedLate) this.fed.send = this.fed.receive = true;
    store.observing(log, () => this.end());
  }

  fromClient(chunk: Buffer): void { this.feed('send', chunk); }
  fromServer(chunk: Buffer): void { this.feed('receive', chunk); }

  private feed(type: Direction, chunk: Buffer): void {
    const { observer } = this;
    if (this.fed[type]) { observer!.write(type, chunk); return; }
    if (!observer && this.store.watched && !this.ended) { this.observe(true); this.feed(type, chunk); return; }
    const { tally } = this.log, tracker = this.trackers[type];
    const at = observer?.observes(type) ? tracker.push(chunk, true) : tracker.push(chunk);
    tally.messages[type] = tracker.messages;
    tally.bytes[type] += at < 0 ? chunk.length : at;
    if (at < 0) return;
    this.fed[type] = true;
    observer!.write(type, at === 0 ? chunk : chunk.subarray(at));
  }

  end(): Promise<void> {
    this.ended ??= this.observer ? this.observer.close().finally(() => this.store.settledOne(this.log.tally.socket)) : Promise.resolve();
    return this.ended;
  }
}

/** What the store needs of an exchange. */
export interface SocketExchange { readonly id: number; readonly url: string; readonly client: string; readonly clientName?: string }

/** Fed by the WebSocket path with each chunk, both ways; `end()` when the socket closes. */
export interface SocketTap {
  fromClient(chunk: Buffer): void;
  fromServer(chunk: Buffer): void;
  /** The socket closed; resolves once its last messages are parsed. */
  end(): Promise<void>;
}

export class SocketMessages extends EventEmitter {
  private readonly logs = new Map<number, SocketLog>();
  private fifo: Kept[] = [];
  private fifoHead = 0;
  private total = 0;
  private bytes = 0;
  /** HAR recorders and dashboard listeners that want the messages. */
  private watchers = 0;
  /** Observed sockets whose last messages may still be parsing. */
  private readonly settling = new Map<number, { end(): Promise<void> }>();
  /** A JSON report is asked for: frame headers are counted even when nobody watches. */
  countFrames = false;

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  /** Someone wants messages from now on; call the returned function when they stop. */
  watch(): () => void {
    this.watchers++;
    let done = false;
    return () => { if (!done) { done = true; this.watchers--; } };
  }

  get watched(): boolean {
    return this.watchers > 0;
  }

  /**
   * Called once a socket's 101 has gone out: what to feed its chunks to. Every socket gets a
   * FrameTracker per direction (frame headers only); its messages are observed from the 101 on
   * when someone wants them then, or from the first message that begins after someone starts
   * wanting them (a dashboard opened later).
   */
  tap(ex: SocketExchange, extensions: string | undefined): SocketTap {
    const tally: SocketTally = {
      socket: ex.id, url: ex.url, client: ex.client, ...(ex.clientName === undefined ? {} : { clientName: ex.clientName }),
      messages: { send: 0, receive: 0 }, bytes: { send: 0, receive: 0 }, observed: false, dropped: 0,
    };
    const log = new SocketLog(tally);
    const tap = new LiveSocket(this, log, extensions);
    if (this.watched || this.countFrames) this.register(log);
    this.emit('open', ex);
    return tap;
  }

  /** The socket's counts are kept (for the report, the dashboard). */
  register(log: SocketLog): void {
    if (this.logs.has(log.tally.socket)) return;
    this.logs.set(log.tally.socket, log);
    this.trimTallies();
  }

  /** A socket's observer started; `end` lets its last messages in. */
  observing(log: SocketLog, end: () => Promise<void>): void {
    this.register(log);
    this.settling.set(log.tally.socket, { end });
  }

  stopped(log: SocketLog, type: Direction, reason: string): void {
    (log.tally.stopped ??= {})[type] = reason;
    this.emit('stop', { socket: log.tally.socket, type, reason });
  }

  settledOne(socket: number): void {
    this.settling.delete(socket);
  }

  add(log: SocketLog, m: WsMessage): void {
    const t = log.tally;
    m.seq = log.seq++;
    t.messages[m.type]++;
    t.bytes[m.type] += m.size;
    const k: Kept = { m, gone: false, log };
    log.kept.push(k);
    this.fifo.push(k);
    this.total++;
    this.bytes += m.data.length;
    if (log.size > MAX_MESSAGES_PER_SOCKET) this.drop(log.shift()!);
    while (this.total > MAX_MESSAGES_TOTAL || this.bytes > MAX_KEPT_BYTES) {
      const oldest = this.fifo[this.fifoHead++];
      if (!oldest) break;
      if (oldest.gone) continue;
      // The oldest of all is the oldest of its socket too.
      oldest.log.shift();
      this.drop(oldest);
    }
    if (this.fifoHead >= 10_000 && this.fifoHead * 2 >= this.fifo.length) { this.fifo = this.fifo.slice(this.fifoHead); this.fifoHead = 0; }
    this.emit('message', m);
  }

  private drop(k: Kept): void {
    k.gone = true;
    k.log.tally.dropped++;
    this.total--;
    this.bytes -= k.m.data.length;
  }

  private trimTallies(): void {
    if (this.logs.size <= MAX_TALLIED_SOCKETS) return;
    const oldest = this.logs.keys().next().value as number;
    const log = this.logs.get(oldest)!;
    for (let k = log.shift(); k; k = log.shift()) if (!k.gone) this.drop(k);
    this.logs.delete(oldest);
  }

  /** Resolves when the socket's messages are all in (its observer closed); at once for others. */
  settled(socket: number): Promise<void> {
    return this.settling.get(socket)?.end() ?? Promise.resolve();
  }

  /** Resolves when every closed socket's messages are in (before the reports are written). */
  async settleAll(): Promise<void> {
    await Promise.all([...this.settling.keys()].map((id) => this.settled(id)));
  }

  /** The kept messages of a socket, oldest first. */
  messagesOf(socket: number): WsMessage[] {
    return this.logs.get(socket)?.messages() ?? [];
  }

  tallyOf(socket: number): SocketTally | undefined {
    return this.logs.get(socket)?.tally;
  }

  tallies(): SocketTally[] {
    return [...this.logs.values()].map((l) => l.tally);
  }

  /** How many messages are kept now, across all sockets. */
  get keptCount(): number {
    return this.total;
  }
}
