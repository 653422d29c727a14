/** `insecure-scheme` (SPEC §4): "Mini games must use HTTPS/WSS for network requests." */
import type { Rule } from './types.js';

export function insecureScheme(): Rule {
  return {
    ids: ['insecure-scheme'],
    onRequest: (ex) => {
      if (ex.scheme === 'https' || ex.scheme === 'wss') return undefined;
      const want = ex.scheme === 'ws' ? 'wss://' : 'https://';
      return { rule: 'insecure-scheme', severity: 'error', message: `${ex.url} is ${ex.scheme}://; mini games must use ${want}` };
    },
  };
}
