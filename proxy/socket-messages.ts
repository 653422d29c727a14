/**
 * The WebSocket messages kept per socket (SPEC §8), bounded twice: a ring of the newest
 * MAX_MESSAGES_PER_SOCKET per socket, and at most MAX_MESSAGES_TOTAL messages holding
 * MAX_KEPT_BYTES of shown payload across all sockets (the oldest go first, whichever socket they
 * belong to). Counts per socket (messages and payload bytes each way) stay exact for the report.
 *
 * Messages are observed only while someone wants them: a HAR being recorded, or a dashboard
 * listening (SSE); a socket is observed from its 101 on if someone wanted it then. Without that,
 * the socket is piped untouched; with only a JSON report asked for, frame headers are counted.
 */
import { EventEmitter } from 'node:events';
import { type Direction, FrameCounter, SocketObserver, type WsMessage } from './ws-observer.js';

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
  /** Messages that left memory (the ring or the total bound). */
  dropped: number;
}

class SocketLog {
  readonly kept: Kept[] = [];
  head = 0;

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
   * Called once a socket's 101 has gone out: what to feed its chunks to, or undefined when nobody
   * wants its messages or counts (the zero-copy pipe stays).
   */
  tap(ex: SocketExchange, extensions: string | undefined): SocketTap | undefined {
    if (!this.watched && !this.countFrames) return undefined;
    const tally: SocketTally = {
      socket: ex.id, url: ex.url, client: ex.client, ...(ex.clientName === undefined ? {} : { clientName: ex.clientName }),
      messages: { send: 0, receive: 0 }, bytes: { send: 0, receive: 0 }, observed: this.watched, dropped: 0,
    };
    const log = new SocketLog(tally);
    this.logs.set(ex.id, log);
    this.trimTallies();
    if (!this.watched) {
      const counters = { send: new FrameCounter(), receive: new FrameCounter() };
      return {
        fromClient: (c) => { counters.send.push(c); tally.messages.send = counters.send.messages; tally.bytes.send += c.length; },
        fromServer: (c) => { counters.receive.push(c); tally.messages.receive = counters.receive.messages; tally.bytes.receive += c.length; },
        end: () => Promise.resolve(),
      };
    }
    const observer = new SocketObserver({
      socket: ex.id, extensions,
      onMessage: (m) => this.add(log, m),
      onStop: (type, reason) => this.emit('stop', { socket: ex.id, type, reason }),
    });
    let ended: Promise<void> | undefined;
    const end = () => {
      ended ??= observer.close().finally(() => this.settling.delete(ex.id));
      return ended;
    };
    this.settling.set(ex.id, { end });
    return { fromClient: (c) => observer.fromClient(c), fromServer: (c) => observer.fromServer(c), end };
  }

  private add(log: SocketLog, m: WsMessage): void {
    const t = log.tally;
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
