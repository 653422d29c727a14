/**
 * Report files appear whole or not at all: everything is written to a temp file in the
 * target's folder, flushed to disk, then renamed over the target (rename(2) is atomic within a
 * file system). A CI step that picks the file up never sees half a report, and a crash leaves the
 * previous report in place.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';

export class AtomicFile {
  private readonly stream: fs.WriteStream;
  private error: Error | undefined;
  private done = false;
  private closed = false;

  private constructor(readonly target: string, readonly temp: string, private readonly fd: number) {
    this.stream = fs.createWriteStream('', { fd, autoClose: false });
    // Owned from the start: a full disk fails the commit, never the process.
    this.stream.on('error', (err) => { this.error ??= err; });
  }

  /**
   * Creates the target's folder if needed and opens the temp file beside the target, at once and
   * synchronously, so that a path that cannot be written is found when it is given.
   */
  static open(target: string, mode = 0o666): AtomicFile {
    const file = path.resolve(target);
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true });
    const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
    return new AtomicFile(file, temp, fs.openSync(temp, 'wx', mode));
  }

  /** Queues a chunk; false when the caller should wait for `drained()` before writing more. */
  write(chunk: string | Buffer): boolean {
    return this.stream.write(chunk);
  }

  /** Bytes queued in memory and not yet written to the file. */
  get backlog(): number {
    return this.stream.writableLength;
  }

  async drained(): Promise<void> {
    // once() also settles (rejects) on 'error', and removes both listeners either way.
    if (this.stream.writableNeedDrain && !this.error) await once(this.stream, 'drain').catch(() => undefined);
  }

  /** Flushes, syncs and renames the temp file over the target. */
  async commit(): Promise<void> {
    if (this.done) throw new Error(`${this.target} was already committed or aborted`);
    this.done = true;
    try {
      if (!this.error) {
        this.stream.end();
        await once(this.stream, 'finish').catch(() => undefined);
      }
      if (this.error) throw this.error;
      await new Promise<void>((resolve, reject) => fs.fsync(this.fd, (err) => (err ? reject(err) : resolve())));
      this.closeFd();
      await fs.promises.rename(this.temp, this.target);
    } catch (err) {
      this.cleanup();
      throw new Error(`cannot write ${this.target}: ${(err as Error).message}`);
    }
  }

  /** Drops the temp file; the target is left as it was. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    // destroy() closes the descriptor itself (whatever autoClose says), asynchronously: closing it
    // here too could close a descriptor the process has reused meanwhile.
    this.closed = true;
    this.stream.destroy();
    fs.rmSync(this.temp, { force: true });
  }

  /** Once only: a second close could hit a descriptor the process has since reused. */
  private closeFd(): void {
    if (this.closed) return;
    this.closed = true;
    try { fs.closeSync(this.fd); } catch { /* nothing more to do */ }
  }

  private cleanup(): void {
    this.closeFd();
    fs.rmSync(this.temp, { force: true });
  }
}

/** Writes `chunks` to `target` atomically, waiting on the disk when it is slower than the source. */
export async function writeFileAtomic(target: string, chunks: Iterable<string> | AsyncIterable<string>, mode?: number): Promise<void> {
  const file = AtomicFile.open(target, mode);
  try {
    for await (const chunk of chunks) {
      if (!file.write(chunk)) await file.drained();
    }
  } catch (err) {
    file.abort();
    throw err;
  }
  await file.commit();
}
