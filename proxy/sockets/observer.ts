/**
 * Watches the WebSocket messages of one socket as they pass (docs/dashboard.md), without changing a byte:
 * one `ws` Receiver per direction parses frames, reassembles fragments and inflates
 * `permessage-deflate` (as the 101's Sec-WebSocket-Extensions negotiated it) for display only.
 * The forwarded chunks are never handed to the Receiver: it unmasks in place, so the client's
 * (masked) chunks are copied first. Only used while someone looks (the dashboard's SSE, a HAR);
 * otherwise the socket's chunks are relayed untouched and only a FrameTracker reads their frame
 * headers. An observer that joins an open socket (`joinedLate`) is fed from a message's first
 * frame on; a direction compressed with context takeover cannot be inflated without the messages
 * before, so it is not observed then (onStop says why).
 */
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

// ws exports these from its root (wrapper.mjs's named exports) but its type definitions do not declare them.
interface PerMessageDeflateLike { params: Record<string, unknown> | null; cleanup(): void }
type ReceiverLike = Writable;
interface WsInternals {
  Receiver: new (opts: { isServer: boolean; extensions: Record<string, PerMessageDeflateLike>; maxPayload: number; skipUTF8Validation: boolean; allowSynchronousEvents: boolean }) => ReceiverLike;
  PerMessageDeflate: { new (opts: { isServer: boolean; maxPayload: number }): PerMessageDeflateLike; readonly extensionName: string };
  extension: { parse(header: string): Record<string, Record<string, (string | true)[]>[]> };
}
let wsModule: WsInternals | undefined;
/**
 * `ws`, loaded when the first socket is observed (someone watches): most runs never parse a frame,
 * and loading it costs a start ~10 ms.
 */
const ws = (): WsInternals => (wsModule ??= createRequire(import.meta.url)('ws') as WsInternals);

/** `send` = from the client (Chrome DevTools' words). */
export type Direction = 'send' | 'receive';

/** Payload shown per message; longer ones are cut here (the size stays exact). */
export const MAX_SHOWN_BYTES = 64 * 1024;
/** A message larger than this (after inflating) stops the observation of that direction; the bytes still flow. */
export const MAX_OBSERVED_MESSAGE_BYTES = 64 * 1024 * 1024;

/** How long a closed socket's last messages may take to be parsed. */
const CLOSE_GRACE_MS = 2000;

export interface WsMessage {
  /** The socket's exchange id. */
  socket: number;
  /** Its place among the socket's observed messages (0, 1, …; both directions), set by the store. */
  seq?: number;
  type: Direction;
  /** Epoch seconds, as in Chrome's HAR. */
  time: number;
  /** 1 text, 2 binary, 8 close, 9 ping, 10 pong. */
  opcode: 1 | 2 | 8 | 9 | 10;
  /** Payload bytes (inflated). */
  size: number;
  /** Text as text, binary as base64; cut past MAX_SHOWN_BYTES of payload. */
  data: string;
  truncated?: boolean;
  /** It came compressed (permessage-deflate). */
  compressed?: boolean;
  /** Close frames: the status code (1005 when none was sent) and the reason. */
  code?: number;
  reason?: string;
}

function shown(payload: Buffer, text: boolean): { data: string; truncated?: boolean } {
  const cut = payload.length > MAX_SHOWN_BYTES;
  const part = cut ? payload.subarray(0, MAX_SHOWN_BYTES) : payload;
  // A StringDecoder holds back a UTF-8 sequence the cut split, instead of a replacement character.
  const data = text ? (cut ? new StringDecoder('utf8').write(part) : part.toString('utf8')) : part.toString('base64');
  return cut ? { data, truncated: true } : { data };
}

/** The negotiated permessage-deflate parameters of a 101, in the form ws's PerMessageDeflate keeps them. */
function deflateParams(extensionsHeader: string | undefined): Record<string, unknown> | undefined {
  if (!extensionsHeader) return undefined;
  const { extension, PerMessageDeflate } = ws();
  let parsed: ReturnType<WsInternals['extension']['parse']>;
  try {
    parsed = extension.parse(extensionsHeader);
  } catch {
    return undefined;
  }
  const offer = parsed[PerMessageDeflate.extensionName]?.[0];
  if (!offer) return undefined;
  const params: Record<string, unknown> = {};
  for (const [key, values] of Object.entries(offer)) {
    const v = values[0];
    params[key] = key.endsWith('_max_window_bits') && typeof v === 'string' ? Number(v) : v;
  }
  return params;
}

export interface ObserverOptions {
  socket: number;
  /** The 101's Sec-WebSocket-Extensions. */
  extensions?: string;
  onMessage(m: WsMessage): void;
  /** A direction could not be parsed (not WebSocket, or over the limit): it is no longer observed. */
  onStop?(type: Direction, reason: string): void;
  /** The socket was open before: each direction is fed from the first frame of a message on. */
  joinedLate?: boolean;
}

/** Why a direction compressed with context takeover cannot be observed when joining late. */
export const LATE_DEFLATE_REASON = 'joined an open socket compressed with context takeover: its messages cannot be inflated without the earlier ones';

export class SocketObserver {
  private readonly receivers: Record<Direction, ReceiverLike | undefined>;
  /**
   * Each direction's frame headers, read before its Receiver gets the bytes: RSV1 of every data
   * message's first frame (RFC 7692 §6: set when the message is compressed), in order, taken
   * when the Receiver emits that message. ws's Receiver keeps that bit only in a private field.
   */
  private readonly frames: Record<Direction, FrameTracker> = { send: new FrameTracker(), receive: new FrameTracker() };
  private readonly compressed: Record<Direction, boolean[]> = { send: [], receive: [] };
  private readonly deflates: PerMessageDeflateLike[] = [];

  constructor(private readonly opts: ObserverOptions) {
    const params = deflateParams(opts.extensions);
    for (const type of ['send', 'receive'] as const) this.frames[type].onMessageStart = (rsv1) => this.compressed[type].push(rsv1);
    this.receivers = { send: this.receiver('send', params), receive: this.receiver('receive', params) };
    if (opts.joinedLate && params) {
      // permessage-deflate keeps one LZ77 window per direction across messages unless *_no_context_takeover was agreed.
      if (params.client_no_context_takeover === undefined) this.stop('send', LATE_DEFLATE_REASON);
      if (params.server_no_context_takeover === undefined) this.stop('receive', LATE_DEFLATE_REASON);
    }
  }

  /** Whether the direction is still observed. */
  observes(type: Direction): boolean {
    return this.receivers[type] !== undefined;
  }

  private receiver(type: Direction, params: Record<string, unknown> | undefined): ReceiverLike {
    const isServer = type === 'send'; // the client's frames are read as a server reads them
    const { PerMessageDeflate, Receiver } = ws();
    const extensions: Record<string, PerMessageDeflateLike> = {};
    if (params) {
      const pmd = new PerMessageDeflate({ isServer, maxPayload: MAX_OBSERVED_MESSAGE_BYTES });
      pmd.params = params;
      extensions[PerMessageDeflate.extensionName] = pmd;
      this.deflates.push(pmd);
    }
    const r = new Receiver({ isServer, extensions, maxPayload: MAX_OBSERVED_MESSAGE_BYTES, skipUTF8Validation: true, allowSynchronousEvents: true });
    const emit = (opcode: WsMessage['opcode'], payload: Buffer, extra: Partial<WsMessage> = {}) => {
      const m: WsMessage = { socket: this.opts.socket, type, time: Date.now() / 1000, opcode, size: payload.length, ...shown(payload, opcode !== 2 && opcode !== 9 && opcode !== 10), ...extra };
      if (opcode <= 2 && this.compressed[type].shift()) m.compressed = true;
      this.opts.onMessage(m);
    };
    r.on('message', (data: Buffer, isBinary: boolean) => emit(isBinary ? 2 : 1, data));
    r.on('ping', (data: Buffer) => emit(9, data));
    r.on('pong', (data: Buffer) => emit(10, data));
    r.on('conclude', (code: number, reason: Buffer) => emit(8, reason, { code, reason: reason.toString('utf8') }));
    r.on('error', (err: Error) => this.stop(type, err.message));
    return r;
  }

  private stop(type: Direction, reason: string): void {
    const r = this.receivers[type];
    if (!r) return;
    this.receivers[type] = undefined;
    r.destroy();
    this.opts.onStop?.(type, reason);
  }

  /** A chunk of `type`'s direction. */
  write(type: Direction, chunk: Buffer): void {
    if (type === 'send') this.fromClient(chunk);
    else this.fromServer(chunk);
  }

  /** A chunk the client sent (masked frames: copied, as the Receiver unmasks in place). */
  fromClient(chunk: Buffer): void {
    const r = this.receivers.send;
    if (!r || r.writableEnded) return;
    this.frames.send.push(chunk);
    r.write(Buffer.from(chunk));
  }

  /** A chunk the upstream sent (unmasked frames: read where they are, never changed). */
  fromServer(chunk: Buffer): void {
    const r = this.receivers.receive;
    if (!r || r.writableEnded) return;
    this.frames.receive.push(chunk);
    r.write(chunk);
  }

  /**
   * The socket closed: lets what was written be parsed (an inflate may still be running), at
   * most CLOSE_GRACE_MS, then lets the parsers and inflaters go.
   */
  async close(): Promise<void> {
    const pending = (['send', 'receive'] as const).map((type) => {
      const r = this.receivers[type];
      if (!r || r.writableFinished || r.destroyed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_GRACE_MS);
        const done = () => { clearTimeout(timer); resolve(); };
        r.once('finish', done);
        r.once('close', done);
        if (!r.writableEnded) r.end();
      });
    });
    await Promise.all(pending);
    for (const type of ['send', 'receive'] as const) {
      this.receivers[type]?.destroy();
      this.receivers[type] = undefined;
    }
    for (const d of this.deflates) d.cleanup();
  }
}

/**
 * Reads frame headers only, skipping payloads (no copy, no unmasking, no inflating, nothing
 * allocated per chunk): run on every socket, so that the JSON report can count messages when
 * nobody observes, and so that an observer that joins an open socket can start at the first
 * frame that begins a message (frame boundaries cannot be found mid-stream otherwise). A message
 * is counted at its final frame; control frames count as messages too.
 */
export class FrameTracker {
  messages = 0;
  /** Called at each frame header that begins a data message, with its RSV1 bit. */
  onMessageStart?: (rsv1: boolean) => void;
  private readonly header = Buffer.alloc(14);
  private have = 0;
  private skip = 0;
  /** Between the first and the final frame of a fragmented message (control frames may come in between). */
  private inFragments = false;

  /**
   * Reads the chunk's frame headers. With `stopAtMessage`, stops at the first frame header that
   * begins a message (one not inside a fragmented message) and returns its offset in the chunk,
   * the rest unread; -1 when the whole chunk was read.
   */
  push(chunk: Buffer, stopAtMessage = false): number {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      if (stopAtMessage && this.have === 0 && !this.inFragments) return i;
      this.header[this.have++] = chunk[i++]!;
      if (this.have < 2) continue;
      const len7 = this.header[1]! & 0x7f;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((this.header[1]! & 0x80) !== 0 ? 4 : 0);
      if (this.have < need) continue;
      const len = len7 === 126 ? this.header.readUInt16BE(2) : len7 === 127 ? Number(this.header.readBigUInt64BE(2)) : len7;
      const fin = (this.header[0]! & 0x80) !== 0;
      const opcode = this.header[0]! & 0x0f;
      if ((opcode === 1 || opcode === 2) && this.onMessageStart) this.onMessageStart((this.header[0]! & 0x40) !== 0);
      if (opcode < 8) this.inFragments = !fin;
      if (fin) this.messages++;
      this.skip = len;
      this.have = 0;
    }
    return -1;
  }
}
