/**
 * `background-interrupted` (docs/rules.md, docs/rules.md "Background"): "If a mini game enters the background and
 * a network request does not complete within 5 seconds, an error callback fail interrupted will be
 * triggered." Fires 5 s after background mode is switched on, for every exchange still in flight
 * (open sockets included), whenever it started; switching back before then cancels it. Its action
 * is `cut` (docs/rules.md), also when the proxy answers 503 because nothing had been sent yet: the
 * runtime interrupts the call, it does not refuse it.
 */
import type { ProxyContext } from '../context.js';
import { raise } from './pipeline.js';
import type { Rule } from './types.js';

export const BACKGROUND_GRACE_MS = 5000;

export function backgroundInterrupted(ctx: Pick<ProxyContext, 'state' | 'inFlight' | 'config'>): Rule {
  // The errMsg reason is the first platform's (docs/platforms.md: Douyin mini program's `app in background`).
  const reason = ctx.config.platforms[0]!.backgroundReason;
  let timer: NodeJS.Timeout | undefined;
  ctx.state.on('background', (on: boolean) => {
    clearTimeout(timer);
    if (!on) return;
    timer = setTimeout(() => {
      for (const ex of [...ctx.inFlight.all()]) {
        raise(ctx, ex, { rule: 'background-interrupted', severity: 'error', reason, interrupts: true, message: `still in flight ${BACKGROUND_GRACE_MS / 1000} s after the game went to the background` });
      }
    }, BACKGROUND_GRACE_MS);
    timer.unref();
  });
  return { ids: ['background-interrupted'] };
}
