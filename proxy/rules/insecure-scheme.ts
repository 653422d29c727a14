/**
 * `insecure-scheme` (docs/rules.md): "Mini games must use HTTPS/WSS for network requests." Douyin's mini
 * program allows plain http in test builds (`version` `"0"`, docs/platforms.md); the event names the
 * platforms that refuse it.
 */
import type { ProxyContext } from '../context.js';
import type { Rule } from './types.js';

export function insecureScheme(ctx: Pick<ProxyContext, 'config'>): Rule {
  const testBuild = ctx.config.version === '0';
  const refusing = ctx.config.platforms.filter((p) => !(p.httpInTestBuilds && testBuild)).map((p) => p.name);
  return {
    ids: ['insecure-scheme'],
    onRequest: (ex) => {
      if (ex.scheme === 'https' || ex.scheme === 'wss' || refusing.length === 0) return undefined;
      const want = ex.scheme === 'ws' ? 'wss://' : 'https://';
      return { rule: 'insecure-scheme', severity: 'error', platforms: refusing, message: `${ex.url} is ${ex.scheme}://; mini games must use ${want}` };
    },
  };
}
