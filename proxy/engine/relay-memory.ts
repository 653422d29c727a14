/**
 * Keeps a long transfer's dead buffers few (the bench's target: proxy RSS growth ≤ 16 MiB on a
 * 256 MiB transfer, bench/README.md).
 *
 * Node's TLS hands every record it decrypts to JavaScript in a fresh ArrayBuffer (16 KiB each),
 * and undici's `socket.read()` adds a 64 KiB copy when several records wait. A relayed chunk is
 * garbage once written, but V8 11 (Node 20) frees young ArrayBuffers only at a scavenge, and it
 * forces one for them only once twice the maximum semi-space (2 × 16 MiB) is pending. Relaying
 * bytes allocates almost nothing on the JavaScript heap, so the young generation rarely fills
 * first: a 256 MiB download or upload kept ~32 MiB of dead buffers resident (the proxy's RSS
 * grew by ~35 MiB in `npm run bench`). A scavenge after every `RELAY_BUDGET_BYTES` relayed bounds
 * them; it costs a fraction of a millisecond, since almost nothing in the young generation is alive.
 *
 * Still needed on Node 24 (V8 13.6, the Docker image's), measured on both: 256 MiB relayed as
 * fresh 16 KiB buffers in process (test/relay-memory.test.ts's loop), peak ArrayBuffer memory
 * with / without the scavenge: Node 20.20 7.5 / 47.4 MiB, Node 24.22 7.6 / 65.1 MiB. Through the
 * real proxy (`npm run bench -- --only bulk --rounds 1`, 256 MiB download, a loaded 2-core
 * machine, so ± several MiB): RSS growth with / without it, Node 20 47 / 69 MiB, Node 24 32 / 57
 * MiB. The scavenge takes 20-25 MiB off on both; what remains on a download is not these buffers.
 *
 * `--expose-gc` is set at run time and the collector is taken from a fresh context, so the
 * proxy's own global gets no `gc`. Without it (a runtime that refuses the flag), nothing changes.
 */
import { createRequire } from 'node:module';
import type V8 from 'node:v8';
import type Vm from 'node:vm';

/** Bytes relayed (either way, any exchange) between two scavenges. */
export const RELAY_BUDGET_BYTES = 4 * 1024 * 1024;

type Collect = (options: { type: 'minor' }) => void;

function collector(): Collect | undefined {
  try {
    const load = createRequire(import.meta.url);
    (load('node:v8') as typeof V8).setFlagsFromString('--expose-gc');
    const gc: unknown = (load('node:vm') as typeof Vm).runInNewContext('typeof gc === "function" ? gc : undefined');
    return typeof gc === 'function' ? (gc as Collect) : undefined;
  } catch {
    return undefined;
  }
}

/** Taken when the budget is first reached, not at start: node:v8, node:vm and a new V8 context cost a few ms of every start. */
let collect: Collect | undefined | null = null;
let sinceScavenge = 0;

/** Counts `bytes` relayed; past the budget, collects the young generation (and the dead chunks with it). */
export function relayed(bytes: number): void {
  sinceScavenge += bytes;
  if (sinceScavenge < RELAY_BUDGET_BYTES) return;
  sinceScavenge = 0;
  if (collect === null) collect = collector();
  collect?.({ type: 'minor' });
}
