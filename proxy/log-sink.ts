/**
 * Where the JSON log lines go (`mgproxy start`'s default): lines are UTF-8-encoded straight into a
 * reused 64 KiB buffer and leave in one asynchronous `fs.write` per buffer, at the latest 50 ms
 * after their line. pino's sonic-boom did the same with a string: it measured the whole pending
 * string's byte length on every line and handed `fs.write` a string to flatten and encode again,
 * a tenth of the proxy's own CPU per request under load (bench/README.md). Order is kept: every
 * line, pino's or the exchange line's (proxy/engine/exchange-line.ts), goes through `write`.
 * A full pipe (EAGAIN) is retried; a closed one (EPIPE, EBADF) drops what is left, as there is no
 * one left to read it.
 */
import fs from 'node:fs';

const SIZE = 64 * 1024;
/** A line waits at most this long for others to share its write. */
const FLUSH_MS = 50;
/** A pipe still full after this many retries in a synchronous flush is given up on (at exit). */
const SYNC_RETRIES = 1000;

export class LogSink {
  private buf: Buffer = Buffer.allocUnsafe(SIZE);
  private pos = 0;
  /** Buffers on their way out, oldest first; the first is being written. */
  private readonly queue: Buffer[] = [];
  private writing = false;
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** Spare buffers, reused once written. */
  private readonly spare: Buffer[] = [];

  constructor(private readonly fd: number) {
    flushAtExit(this);
  }

  /** One or more whole lines (pino hands each line with its `\n`). */
  write(line: string): boolean {
    if (this.closed) return true;
    // A UTF-16 code unit is at most 3 bytes of UTF-8: a line that might not fit goes to the next buffer.
    if (line.length * 3 > SIZE - this.pos) {
      this.seal();
      if (line.length * 3 > SIZE) {
        // A line longer than a buffer (a huge message): a buffer of its own.
        this.queue.push(Buffer.from(line, 'utf8'));
        this.pump();
        return true;
      }
    }
    this.pos += this.buf.write(line, this.pos, 'utf8');
    if (this.pos >= SIZE / 2) {
      this.seal();
      this.pump();
    } else {
      this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
    }
    return true;
  }

  /** Writes what is buffered (asynchronously). */
  flush(): void {
    this.seal();
    this.pump();
  }

  /**
   * Writes what is queued now, synchronously (before exit, and where `mgproxy run` orders its own
   * output after the proxy's lines). A buffer already handed to an asynchronous write stays with it:
   * written again it would appear twice (sonic-boom's flushSync does the same).
   */
  flushSync(): void {
    this.seal();
    const rest = this.queue.splice(this.writing ? 1 : 0);
    for (const b of rest) this.writeAllSync(b);
  }

  private writeAllSync(b: Buffer): void {
    let off = 0;
    for (let tries = 0; off < b.length && tries < SYNC_RETRIES;) {
      try {
        off += fs.writeSync(this.fd, b, off, b.length - off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EBUSY') { tries++; continue; }
        this.closed = true;
        return;
      }
    }
  }

  /** Moves the current buffer's lines to the queue. */
  private seal(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.pos === 0) return;
    this.queue.push(this.buf.subarray(0, this.pos));
    this.buf = this.spare.pop() ?? Buffer.allocUnsafe(SIZE);
    this.pos = 0;
  }

  private pump(): void {
    if (this.writing || this.closed) return;
    const b = this.queue[0];
    if (!b) return;
    this.writing = true;
    this.writeFrom(b, 0);
  }

  private writeFrom(b: Buffer, off: number): void {
    fs.write(this.fd, b, off, b.length - off, null, (err, n) => {
      if (err) {
        if (err.code === 'EAGAIN' || err.code === 'EBUSY') { setTimeout(() => this.writeFrom(b, off), 10).unref(); return; }
        this.closed = true;
        this.queue.length = 0;
        this.writing = false;
        return;
      }
      if (off + n < b.length) { this.writeFrom(b, off + n); return; }
      this.queue.shift();
      if (b.buffer.byteLength === SIZE && this.spare.length < 2) this.spare.push(Buffer.from(b.buffer, b.byteOffset, SIZE));
      this.writing = false;
      this.pump();
    });
  }
}

/**
 * Lines still buffered when the process exits (a `process.exit` after a failed start, a command's
 * own exit) are written synchronously on the way out: a warning logged just before a failure is
 * the line the user needs. One `exit` listener for all sinks, each held weakly, so that a sink
 * dropped with its logger (the tests start many proxies in one process) is not kept.
 */
const LIVE = new Set<WeakRef<LogSink>>();
function flushAtExit(sink: LogSink): void {
  if (LIVE.size === 0) process.once('exit', () => { for (const ref of LIVE) ref.deref()?.flushSync(); });
  for (const ref of LIVE) if (!ref.deref()) LIVE.delete(ref);
  LIVE.add(new WeakRef(sink));
}
