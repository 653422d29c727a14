/**
 * `referer-mismatch` (docs/rules.md, docs/rules.md "Referer", docs/platforms.md): the runtime's Referer "cannot be set" and is
 * fixed per platform (TCSAS `https://appservice.wx.com/{appid}/{version}/page-frame.html`, WeChat
 * `https://servicewechat.com/…`, Douyin's query form…): the first platform's is the one. `rewrite` sends the upstream the
 * fixed value whatever the client sent (as the device would, WebSocket upgrades included); `check`
 * forwards the client's and only reports; `off` is not registered. A missing Referer is no violation.
 */
import type { ProxyContext } from '../context.js';
import type { Rule } from './types.js';

const SHOWN = 200;

export function refererMismatch(ctx: Pick<ProxyContext, 'config'>): Rule {
  const fixed = ctx.config.refererValue;
  const rewrite = ctx.config.referer === 'rewrite';
  // TapTap's Referer is not documented: neither rewritten nor checked (docs/platforms.md).
  if (fixed === null) return { ids: ['referer-mismatch'] };
  // Judged against the first platform's Referer alone (docs/platforms.md): the one the upstream gets.
  const judge = [ctx.config.platformNames[0]!];
  return {
    ids: ['referer-mismatch'],
    onRequest: (ex) => {
      if (rewrite) ex.upstreamHeaders.referer = fixed;
      const sent = ex.req.headers.referer;
      if (sent === undefined || sent === fixed) return undefined;
      const shown = sent.length > SHOWN ? `${sent.slice(0, SHOWN)}…` : sent;
      return {
        rule: 'referer-mismatch', severity: 'warning', ...(rewrite ? { rewritten: true } : {}), platforms: judge,
        message: `Referer ${JSON.stringify(shown)} is not ${fixed}${rewrite ? '; the upstream got the fixed one' : ''}`,
      };
    },
  };
}
