/**
 * The ordered rule registry (STYLE habit 2): one list, read top to bottom. In `enforce` mode the
 * first error finding answers the request, so the decisive checks come first (in the order the
 * runtime would fail a call), and the stateful ones (timers, slots) after them.
 */
import type { ProxyContext } from '../context.js';
import { backgroundCall } from './background-call.js';
import { domainNotAllowed } from './domain-not-allowed.js';
import { insecureScheme } from './insecure-scheme.js';
import { ipNotAllowed } from './ip-not-allowed.js';
import type { Rule } from './types.js';

export function createRules(ctx: Omit<ProxyContext, 'rules'>): Rule[] {
  // skipVerification mirrors the developer tools' option: no domain, IP, scheme or TLS checks.
  const verify = !ctx.config.skipVerification;
  return [
    backgroundCall(ctx),
    ...(verify ? [insecureScheme(), ipNotAllowed(ctx), domainNotAllowed(ctx)] : []),
  ];
}
