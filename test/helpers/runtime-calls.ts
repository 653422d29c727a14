/**
 * A game's callbacks, recorded: what `mgproxy/runtime` called, in what order, and whether any
 * callback ran before the call returned. Every outcome is checked to be `success` or `fail`, then
 * `complete`, once each.
 */
import assert from 'node:assert/strict';

export interface Outcome<T = any> {
  ok: boolean;
  /** The success result, or the fail result. */
  res: T;
  order: string[];
}

/**
 * Runs `start(callbacks)` (one runtime call) and resolves with its outcome once `complete` ran;
 * rejects when a callback ran synchronously or twice. `task` gets what the call returned.
 */
export function outcome<T = any, K = unknown>(start: (cb: { success(r: T): void; fail(e: any): void; complete(r: any): void }) => K, task?: (t: K) => void, ms = 70_000): Promise<Outcome<T>> {
  return new Promise((resolve, reject) => {
    const order: string[] = [];
    let returned = false;
    let result: { ok: boolean; res: any } | undefined;
    const timer = setTimeout(() => reject(new Error(`no complete within ${ms} ms (so far: ${order.join(', ')})`)), ms);
    const record = (name: string) => {
      if (!returned) reject(new Error(`${name} was called before the call returned`));
      order.push(name);
    };
    const t = start({
      success(r) { record('success'); result = { ok: true, res: r }; },
      fail(e) { record('fail'); result = { ok: false, res: e }; },
      complete(r) {
        record('complete');
        clearTimeout(timer);
        // Later duplicates would show in `order` of a test that waits on; check what we have now.
        try {
          assert.equal(order.length, 2, `success or fail, then complete: ${order.join(', ')}`);
          assert.ok(result && r === result.res, 'complete gets the same result');
        } catch (err) { reject(err); return; }
        // One more turn: a second callback would land in `order` by then.
        setImmediate(() => (order.length === 2 ? resolve({ ...result!, order }) : reject(new Error(`called again: ${order.join(', ')}`))));
      },
    });
    returned = true;
    task?.(t);
  });
}
