/**
 * The one bounded wait of the tests: polls a condition until it holds, and fails saying what it
 * waited for. Used where the proxy gives no event to wait on (an upstream's count, a file on disk,
 * the fds of a process, an admin API figure); where a log line says it, wait for the line instead
 * (`ProxyProcess.waitFor`, `exchangeLogged` in assertions.ts).
 */

export interface PollOptions {
  /** Upper bound of the wait, in ms (default 10 s: generous for a loaded 2-core machine; a pass takes far less). */
  ms?: number;
  /** Pause between two checks, in ms (default 20). */
  every?: number;
}

/**
 * Resolves once `check()` is true (it may be async); rejects with `not within N ms: <what>` past
 * `opts.ms`. `what` may be a function, to describe the state at the time of failure.
 */
export async function pollUntil(what: string | (() => string), check: () => boolean | Promise<boolean>, opts: PollOptions = {}): Promise<void> {
  const ms = opts.ms ?? 10_000;
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, opts.every ?? 20));
  }
}
