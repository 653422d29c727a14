/**
 * Evicted TLS contexts, given back (docs/certificates.md). A SecureContext's SSL_CTX (~40 KiB of
 * OpenSSL memory, measured with Node 20's OpenSSL 3.0) is freed only when V8 collects its small JS
 * object, and V8 is told it weighs 1 KiB (node's crypto_context.cc, kExternalSize): with a few MiB
 * of JS heap, a full collection comes so rarely that evicted contexts pile up. In process, 10,000
 * hosts through a store of 1,000 contexts grew the RSS by 164 MiB, and the one collection that
 * finally freed them paused for 600-800 ms; with a full collection every 250 evictions, by 47 MiB
 * (the live contexts), in pauses of ~20 ms. Node has no public way to free one context, so once
 * enough have been evicted, a full collection is asked for on the next turn of the event loop.
 *
 * As proxy/engine/relay-memory.ts does for young buffers: `--expose-gc` is set at run time and the
 * collector is taken from a fresh context, so the proxy's own global gets no `gc`. Without it (a
 * runtime that refuses the flag), contexts wait for V8's own collections, as before.
 */
import { createRequire } from 'node:module';
import type V8 from 'node:v8';
import type Vm from 'node:vm';

let collect: (() => void) | null | undefined;

/** V8's full collection, set up at the first need (a proxy that never evicts never asks). */
function collector(): (() => void) | null {
  if (collect !== undefined) return collect;
  try {
    // node:v8 and node:vm are loaded here, not at start (docs/startup.md).
    const load = createRequire(import.meta.url);
    (load('node:v8') as typeof V8).setFlagsFromString('--expose-gc');
    const gc: unknown = (load('node:vm') as typeof Vm).runInNewContext('typeof gc === "function" ? gc : undefined');
    collect = typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    collect = null;
  }
  return collect;
}

/** Counts evicted contexts; every `every` of them, one full collection on the next turn of the event loop. */
export class EvictedContexts {
  private pending = 0;
  private scheduled = false;

  constructor(private readonly every: number) {}

  evicted(): void {
    if (++this.pending < this.every || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pending = 0;
      collector()?.();
    }).unref();
  }
}
