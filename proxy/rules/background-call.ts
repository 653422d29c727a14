/**
 * `background-call` (docs/rules.md, docs/dashboard.md): "Network request APIs cannot be called until the game returns
 * to the frontend." Background mode is switched with `POST /api/background` or the dashboard.
 */
import type { ProxyContext } from '../context.js';
import type { Finding, Rule } from './types.js';

export function backgroundCall(ctx: Pick<ProxyContext, 'state' | 'config'>): Rule {
  // The errMsg reason is the first platform's (docs/platforms.md: Douyin mini program's `app in background`).
  const reason = ctx.config.platforms[0]!.backgroundReason;
  const found = (api: string): Finding | undefined => (ctx.state.background
    ? { rule: 'background-call', severity: 'error', reason, message: `${api} called while the game is in the background` }
    : undefined);
  return {
    ids: ['background-call'],
    // Any host, while in the background: the same check at the tunnel and for each request.
    checkHost: () => found('a network API'),
    onRequest: (ex) => found(ex.api),
  };
}
