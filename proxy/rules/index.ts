/**
 * The ordered rule registry (STYLE habit 2): one list, read top to bottom. Order matters: the
 * first error finding answers the request in `enforce` mode, so the cheap, decisive checks come
 * first and the stateful ones (slots, timers) last, after nothing else can block.
 */
import type { ProxyContext } from '../context.js';
import type { Rule } from './types.js';

export function createRules(_ctx: Omit<ProxyContext, 'rules'>): Rule[] {
  return [];
}
