/**
 * `background-call` (SPEC §4, §8): "Network request APIs cannot be called until the game returns
 * to the frontend." Background mode is switched with `POST /api/background` or the dashboard.
 */
import type { ProxyContext } from '../context.js';
import type { Rule } from './types.js';

export function backgroundCall(ctx: Pick<ProxyContext, 'state' | 'config'>): Rule {
  // The errMsg reason is the first platform's (SPEC §12: Douyin mini program's `app in background`).
  const reason = ctx.config.platforms[0]!.backgroundReason;
  return {
    ids: ['background-call'],
    refusesHost: () => ctx.state.background && ctx.config.mode === 'enforce',
    onRequest: (ex) => (ctx.state.background
      ? { rule: 'background-call', severity: 'error', reason, message: `${ex.api} called while the game is in the background` }
      : undefined),
  };
}
