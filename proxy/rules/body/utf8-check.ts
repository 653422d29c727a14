/**
 * Streaming UTF-8 validation in constant memory: each chunk is checked in place with Node's
 * native `isUtf8`; only a sequence split across two chunks (at most 3 bytes) is carried over.
 */
import { isUtf8 } from 'node:buffer';

/** The length a lead byte announces (invalid leads say 1 and fail `isUtf8`). */
function sequenceLength(lead: number): number {
  if (lead >= 0xf0) return 4;
  if (lead >= 0xe0) return 3;
  if (lead >= 0xc0) return 2;
  return 1;
}

export class Utf8Check {
  private carry: Buffer | undefined;
  private valid = true;

  write(chunk: Buffer): void {
    if (!this.valid || chunk.length === 0) return;
    let start = 0;
    if (this.carry) {
      const need = sequenceLength(this.carry[0]!) - this.carry.length;
      const take = Math.min(need, chunk.length);
      const joined = Buffer.concat([this.carry, chunk.subarray(0, take)]);
      if (take < need) {
        this.carry = joined;
        for (let i = 1; i < joined.length; i++) if ((joined[i]! & 0xc0) !== 0x80) this.valid = false;
        return;
      }
      this.carry = undefined;
      if (!isUtf8(joined)) { this.valid = false; return; }
      start = take;
    }
    let cut = chunk.length;
    for (let i = chunk.length - 1; i >= Math.max(start, chunk.length - 3); i--) {
      const b = chunk[i]!;
      if ((b & 0xc0) === 0x80) continue;
      if (b >= 0xc0 && i + sequenceLength(b) > chunk.length) cut = i;
      break;
    }
    if (!isUtf8(chunk.subarray(start, cut))) { this.valid = false; return; }
    if (cut < chunk.length) this.carry = Buffer.from(chunk.subarray(cut));
  }

  /** True when everything written was valid UTF-8 and no sequence was left unfinished. */
  end(): boolean {
    return this.valid && this.carry === undefined;
  }
}
