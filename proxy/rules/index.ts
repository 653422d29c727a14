/**
 * The ordered rule registry: one list, read top to bottom. In `enforce` mode the
 * first error finding answers the request, so the decisive checks come first (in the order the
 * runtime would fail a call), and the stateful ones (timers, slots) after them.
 */
import type { ProxyContext } from '../context.js';
import { backgroundCall } from './background-call.js';
import { backgroundInterrupted } from './background-interrupted.js';
import { concurrencyExceeded } from './concurrency-exceeded.js';
import { concurrencyQueued } from './concurrency-queued.js';
import { createSlots } from './concurrency-slots.js';
import { domainNotAllowed } from './domain-not-allowed.js';
import { hostRefused } from './host-refused.js';
import { httpErrorStatus } from './http-error-status.js';
import { insecureScheme } from './insecure-scheme.js';
import { ipNotAllowed } from './ip-not-allowed.js';
import { portNotAllowed } from './port-not-allowed.js';
import { refererMismatch } from './referer-mismatch.js';
import { responseMultipleBom } from './response-multiple-bom.js';
import { responseNotUtf8 } from './response-not-utf8.js';
import { timeout } from './timeout.js';
import { tlsAudit } from './tls-audit.js';
import { settleHostAudit } from './pipeline.js';
import type { Rule } from './types.js';

export function createRules(ctx: Omit<ProxyContext, 'rules'>): Rule[] {
  // skipVerification mirrors the developer tools' option: no domain, IP, scheme or TLS checks.
  const verify = !ctx.config.skipVerification;
  // One set of places per client and cap, shared by the two concurrency rules.
  const slots = createSlots(ctx);
  return [
    // The runtime refuses the call itself first, then the URL.
    backgroundCall(ctx),
    // A host the platform refuses outright before the lists; the port once the host is listed.
    ...(verify ? [insecureScheme(ctx), ipNotAllowed(ctx), hostRefused(ctx), domainNotAllowed(ctx), portNotAllowed(ctx)] : []),
    ...(ctx.config.referer !== 'off' ? [refererMismatch(ctx)] : []),
    // The slot first, then the timer: a request held by `overflow: "queue"` starts its clock when it
    // leaves the queue (rules/timeout.ts says why). Sockets are never queued.
    ...(ctx.config.concurrency.overflow === 'queue' ? [concurrencyQueued(ctx, slots)] : []),
    concurrencyExceeded(ctx, slots),
    timeout(ctx),
    backgroundInterrupted(ctx),
    // The TLS audit after the host checks (a host blocked anyway is never contacted), inside the
    // timeout and holding its slot while the first request to a host waits for it.
    ...(verify ? [tlsAudit(ctx, (outcome) => settleHostAudit(ctx, outcome))] : []),
    // Response rules.
    httpErrorStatus(),
    responseNotUtf8(),
    responseMultipleBom(),
  ];
}
