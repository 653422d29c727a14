/**
 * A tiny HTTP/2 frame builder and reader (RFC 9113 §4, §6; HPACK literals of RFC 7541 §6.2.2), for
 * sending what no well-behaved client library sends: floods, resets in bursts, header blocks that
 * never end, windows never opened.
 */
import type { Duplex } from 'node:stream';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const ERROR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, CANCEL: 8, ENHANCE_YOUR_CALM: 0xb } as const;
export const SETTING = { MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4, ENABLE_CONNECT_PROTOCOL: 8 } as const;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

export function settings(entries: [number, number][] = [], ack = false): Buffer {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => { payload.writeUInt16BE(id, i * 6); payload.writeUInt32BE(value, i * 6 + 2); });
  return frame(FRAME.SETTINGS, ack ? FLAG.ACK : 0, 0, payload);
}

export const ping = (ack = false) => frame(FRAME.PING, ack ? FLAG.ACK : 0, 0, Buffer.alloc(8));

export function rstStream(streamId: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}

export function windowUpdate(streamId: number, increment: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment);
  return frame(FRAME.WINDOW_UPDATE, 0, streamId, p);
}

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1); `first` holds the bits above the prefix. */
function hpackInt(value: number, prefixBits: number, first = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  value -= max;
  while (value >= 128) { out.push((value % 128) + 128); value = Math.floor(value / 128); }
  out.push(value);
  return Buffer.from(out);
}

const hpackString = (s: string) => Buffer.concat([hpackInt(Buffer.byteLength(s), 7), Buffer.from(s, 'latin1')]);

/** A header block of literal fields without indexing, new names (RFC 7541 §6.2.2): no table state needed. */
export function headerBlock(fields: [string, string][]): Buffer {
  return Buffer.concat(fields.flatMap(([name, value]) => [Buffer.from([0x00]), hpackString(name), hpackString(value)]));
}

export function headers(streamId: number, block: Buffer, opts: { endStream?: boolean; endHeaders?: boolean } = {}): Buffer {
  const flags = (opts.endStream ?? true ? FLAG.END_STREAM : 0) | (opts.endHeaders ?? true ? FLAG.END_HEADERS : 0);
  return frame(FRAME.HEADERS, flags, streamId, block);
}

export const continuation = (streamId: number, block: Buffer, endHeaders = false) => frame(FRAME.CONTINUATION, endHeaders ? FLAG.END_HEADERS : 0, streamId, block);

/** The fields of a GET of `path` on `authority`. */
export const getFields = (authority: string, path: string): [string, string][] => [[':method', 'GET'], [':scheme', 'https'], [':authority', authority], [':path', path]];

export interface Frame { type: number; flags: number; streamId: number; payload: Buffer }

/** Reads the frames a peer sends (the server's side has no preface); `frames` grows as they come. */
export function readFrames(socket: Duplex): { frames: Frame[]; closed: Promise<void>; goaway(): number | undefined; goaways(): number[]; resets(): Map<number, number> } {
  const frames: Frame[] = [];
  let buf: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      frames.push({ type: buf[3]!, flags: buf[4]!, streamId: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) });
      buf = buf.subarray(9 + len);
    }
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    frames, closed,
    goaways: () => frames.filter((f) => f.type === FRAME.GOAWAY).map((f) => f.payload.readUInt32BE(4)),
    goaway: () => { const g = frames.find((f) => f.type === FRAME.GOAWAY); return g ? g.payload.readUInt32BE(4) : undefined; },
    resets: () => new Map(frames.filter((f) => f.type === FRAME.RST_STREAM).map((f) => [f.streamId, f.payload.readUInt32BE(0)])),
  };
}
