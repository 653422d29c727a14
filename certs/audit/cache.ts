/**
 * Audits per host:port, cached as Promises (STYLE habit 7): concurrent first requests share one
 * audit, later ones get the settled outcome synchronously (no Promise, no tick). An unreachable
 * outcome is handed to whoever waited for it and then forgotten, so a server that was down (or
 * not started yet) is audited again on the next request instead of being judged for the run.
 */
import type { AuditOutcome } from './audit.js';

interface Entry { pending: Promise<AuditOutcome>; outcome?: AuditOutcome }

export class AuditCache {
  private readonly entries = new Map<string, Entry>();

  /**
   * The outcome for `key`, starting `run` when there is none. `onKept` runs once per kept outcome,
   * before anyone waiting sees it (so what it sets up, such as a pin, is in place first).
   */
  get(key: string, run: () => Promise<AuditOutcome>, onKept: (outcome: AuditOutcome) => void): AuditOutcome | Promise<AuditOutcome> {
    const hit = this.entries.get(key);
    if (hit) return hit.outcome ?? hit.pending;
    const entry: Entry = {
      pending: run().then((outcome) => {
        if (outcome.reachable) {
          entry.outcome = outcome;
          onKept(outcome);
        } else {
          this.entries.delete(key);
        }
        return outcome;
      }, (err: unknown) => {
        this.entries.delete(key);
        throw err;
      }),
    };
    this.entries.set(key, entry);
    return entry.pending;
  }
}
