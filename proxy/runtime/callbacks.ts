/**
 * How the runtime calls the game back (docs/runtime.md "Callbacks"): `success` or `fail`, then
 * `complete`, each once, never before the call has returned. A callback that throws does not stop
 * the runtime (its `complete` still runs, its slot is freed); the error is thrown again on its own
 * turn of the event loop, where a test runner reports it, as a page reports an error thrown in an
 * event listener (https://html.spec.whatwg.org/multipage/webappapis.html#report-an-exception).
 */
import type { Callbacks, FailResult } from './types.js';

/** Calls `fn`; an error it throws is rethrown later, outside the runtime. */
export function callSafely<A>(fn: ((arg: A) => void) | undefined, arg: A): void {
  if (typeof fn !== 'function') return;
  try {
    fn(arg);
  } catch (err) {
    setImmediate(() => { throw err; });
  }
}

/** One call's outcome: the first `succeed` or `fail` wins, later ones are ignored. */
export class Settle<T> {
  private settled = false;
  constructor(private readonly cb: Callbacks<T>) {}

  get done(): boolean { return this.settled; }

  succeed(res: T): void { this.finish(() => { callSafely(this.cb.success, res); callSafely(this.cb.complete, res); }); }

  fail(err: FailResult): void { this.finish(() => { callSafely(this.cb.fail, err); callSafely(this.cb.complete, err); }); }

  private finish(run: () => void): void {
    if (this.settled) return;
    this.settled = true;
    // setImmediate, not a microtask: the caller's own code after the call (listeners it adds to the task) runs first.
    setImmediate(run);
  }
}

/** A task's listeners (`onX`/`offX`): `off` without a listener removes them all. */
export class Listeners<E> {
  private list: ((e: E) => void)[] = [];
  add(fn: (e: E) => void): void { if (typeof fn === 'function') this.list.push(fn); }
  remove(fn?: (e: E) => void): void { this.list = fn === undefined ? [] : this.list.filter((f) => f !== fn); }
  get size(): number { return this.list.length; }
  emit(e: E): void { for (const fn of [...this.list]) callSafely(fn, e); }
}
