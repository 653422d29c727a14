/**
 * Audits per host:port, cached as Promises: concurrent first requests share one
 * audit, later ones get the settled outcome synchronously (no Promise, no tick). An unreachable
 * outcome is handed to whoever waited for it and then forgotten, so a server that was down (or
 * not started yet) is audited again on the next request instead of being judged for the run.
 *
 * An audit under way is held by whoever waits for it (a tunnel, a request: `hold`). When the last
 * holder lets go before it settled, nobody wants it any more: it is aborted at once (its sockets
 * destroyed) and forgotten, so the next tunnel to that host starts afresh.
 */
import type { AuditOutcome } from './audit.js';

interface Entry { pending: Promise<AuditOutcome>; outcome?: AuditOutcome; holders: number; abort: AbortController }

const NOTHING = () => undefined;

export class AuditCache {
  private readonly entries = new Map<string, Entry>();

  /**
   * The outcome for `key`, starting `run` when there is none. `onKept` runs once per kept outcome,
   * before anyone waiting sees it (so what it sets up, such as a pin, is in place first). An
   * aborted run's Promise rejects with the abort's reason; it is never kept.
   */
  /** The kept outcome of `key`, or the audit under way; undefined when none was started. */
  peek(key: string): AuditOutcome | Promise<AuditOutcome> | undefined {
    const hit = this.entries.get(key);
    return hit && (hit.outcome ?? hit.pending);
  }

  get(key: string, run: (signal: AbortSignal) => Promise<AuditOutcome>, onKept: (outcome: AuditOutcome) => void): AuditOutcome | Promise<AuditOutcome> {
    const hit = this.entries.get(key);
    if (hit) return hit.outcome ?? hit.pending;
    const abort = new AbortController();
    const forget = () => { if (this.entries.get(key) === entry) this.entries.delete(key); };
    const entry: Entry = {
      holders: 0,
      abort,
      pending: run(abort.signal).then((outcome) => {
        abort.signal.throwIfAborted();
        if (outcome.reachable) {
          entry.outcome = outcome;
          onKept(outcome);
        } else {
          forget();
        }
        return outcome;
      }, (err: unknown) => {
        forget();
        throw err;
      }),
    };
    this.entries.set(key, entry);
    return entry.pending;
  }

  /**
   * Holds `key`'s audit while it is under way; the returned call lets go (once). The last holder
   * to let go before the audit settled aborts it. Nothing is held when the outcome is known.
   */
  hold(key: string): () => void {
    const entry = this.entries.get(key);
    if (!entry || entry.outcome) return NOTHING;
    entry.holders++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--entry.holders > 0 || entry.outcome || entry.abort.signal.aborted) return;
      if (this.entries.get(key) === entry) this.entries.delete(key);
      entry.abort.abort(new AuditCancelled(key));
    };
  }
}

/** Why an audit nobody waited for any more was stopped. */
export class AuditCancelled extends Error {
  constructor(key: string) {
    super(`the TLS audit of ${key} was cancelled: every client waiting for it left`);
    this.name = 'AbortError';
  }
}
