/**
 * The proxy's own answers (docs/rules.md, docs/rules.md): a status, the `x-mgproxy-rule` header, and a JSON body
 * whose `errMsg` is what the runtime would give the game's fail callback. Also the plain answers to
 * malformed input, written straight to a socket.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Api, RequestRuleId, RuleId } from '../../config/vocabulary.js';
import { rawHead } from '../engine/headers.js';

/** The answer a rule wants when its finding stops an exchange: docs/rules.md "Status codes" and "errMsg reason per rule". */
export interface RuleAnswer { status: number; reason: string }

const NOT_LISTED: RuleAnswer = { status: 403, reason: 'url not in domain list' };
const INTERRUPTED: RuleAnswer = { status: 403, reason: 'interrupted' };
/** Every TLS finding (docs/tls-audit.md) answers as the runtime's failed handshake. */
const TLS_ANSWER: RuleAnswer = { status: 502, reason: 'ssl hand shake error' };

/**
 * One row per request rule, so the compiler refuses a rule without its answer. Warnings and info
 * (`null`) never stop an exchange (pipeline.ts `decide`); they would get the generic 502.
 */
export const ANSWERS: Readonly<Record<RequestRuleId, RuleAnswer | null>> = {
  'insecure-scheme': NOT_LISTED,
  'domain-not-allowed': NOT_LISTED,
  'ip-not-allowed': NOT_LISTED,
  'port-not-allowed': NOT_LISTED,
  'host-refused': NOT_LISTED,
  'background-call': INTERRUPTED,
  'background-interrupted': { status: 503, reason: 'interrupted' },
  // Held until a slot frees, never answered by the proxy (a device queues the call).
  'concurrency-queued': null,
  'concurrency-exceeded': { status: 429, reason: 'exceed max task count' },
  timeout: { status: 504, reason: 'timeout' },
  'referer-mismatch': null,
  'response-not-utf8': null,
  'response-multiple-bom': null,
  'http-error-status': null,
};

export function answerOf(rule: RuleId): RuleAnswer {
  return (ANSWERS as Partial<Record<RuleId, RuleAnswer | null>>)[rule] ?? TLS_ANSWER;
}

export interface ProxyAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The answer to a request that broke `rule`; `reason` replaces the rule's errMsg reason where a platform words it otherwise (docs/platforms.md). */
export function ruleAnswer(api: Api, rule: RuleId, message: string, reason?: string): ProxyAnswer {
  const wanted = answerOf(rule);
  return {
    status: wanted.status,
    headers: { 'x-mgproxy-rule': rule },
    body: JSON.stringify({ errMsg: `${api}:fail ${reason ?? wanted.reason}`, rule, message }),
  };
}

/**
 * The answer when the upstream cannot be reached or fails before responding: no rule was broken,
 * so no `x-mgproxy-rule`; `x-mgproxy-error` names the cause for scripts.
 */
export function upstreamErrorAnswer(api: Api, cause: string, reason: string, message: string): ProxyAnswer {
  return {
    status: 502,
    headers: { 'x-mgproxy-error': cause },
    body: JSON.stringify({ errMsg: `${api}:fail ${reason}`, rule: null, message }),
  };
}

/**
 * docs/rules.md "So that a game running in a browser…": a proxy answer to a request with `Origin` lets
 * that page read it (status, errMsg, x-mgproxy-*); without these a page's fetch sees only an opaque
 * network error.
 */
export function withCors(answer: ProxyAnswer, origin: string | undefined): ProxyAnswer {
  if (origin === undefined) return answer;
  return {
    ...answer,
    headers: {
      ...answer.headers,
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-mgproxy-rule, x-mgproxy-error, x-mgproxy-fault',
      vary: 'origin',
    },
  };
}

/** What the CORS answers read of a request, on either protocol. */
type RequestHead = { readonly method?: string; readonly headers: IncomingHttpHeaders };

/** A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method). */
export const isPreflight = (req: RequestHead): boolean =>
  req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;

/**
 * The answer to a preflight the rules would block: 204 allowing what the page asked for, so that
 * its real request goes out and gets the proxy's readable answer (docs/rules.md).
 */
export function preflightAnswer(req: RequestHead): ProxyAnswer {
  const asked = req.headers['access-control-request-headers'];
  const answer = withCors({ status: 204, headers: { 'access-control-allow-methods': String(req.headers['access-control-request-method']) }, body: '' }, req.headers.origin);
  if (asked) answer.headers['access-control-allow-headers'] = asked;
  answer.headers.vary = 'origin, access-control-request-method, access-control-request-headers';
  return answer;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Every header of a proxy answer as sent (also what the HAR report shows for it). */
export function answerHeaders(answer: ProxyAnswer): Record<string, string> {
  // RFC 9110 §8.6, §15.3.5: a 204 has no content, so no Content-Length and no type.
  if (answer.status === 204) return { ...answer.headers, 'cache-control': 'no-store' };
  return {
    ...answer.headers,
    'content-type': JSON_TYPE,
    'content-length': String(Buffer.byteLength(answer.body)),
    'cache-control': 'no-store',
  };
}

/** A JSON answer of the admin API and the dashboard, never cached. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/**
 * The answer to a request Node's parser refused (its 'clientError'), the same on the proxy's and
 * the admin port: 431 for oversized headers, 408 when the head did not arrive in time, 400 for
 * any other parse error; undefined when the socket is only to be closed (not a parse error).
 */
export function clientErrorStatus(code: string): number | undefined {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return code.startsWith('HPE_') ? 400 : undefined;
}

/** Called from Exchange.answer only, whose state says nothing was sent yet. */
export function sendAnswer(res: ServerResponse, answer: ProxyAnswer): void {
  if (res.destroyed) return;
  res.writeHead(answer.status, answerHeaders(answer));
  res.end(answer.body);
}

/**
 * Writes a whole HTTP/1.1 response to a raw socket and closes it: for CONNECT, upgrades and
 * parse errors, where there is no ServerResponse.
 */
export function writeRawAnswer(socket: Duplex, status: number, headers: Record<string, string>, body: string, contentType = 'text/plain; charset=utf-8'): void {
  if (socket.destroyed || !socket.writable) { socket.destroy(); return; }
  const all = { ...headers, 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
  socket.end(`${rawHead(status, STATUS_CODES[status] ?? 'Error', all)}${body}`);
  // Read what the client is still sending: closing with unread data makes TCP reset the
  // connection, and the client would lose the answer. Bounded: closed within 2 s regardless.
  socket.on('data', () => undefined);
  socket.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

const LINGER_MS = 2000;

export function writeRawProxyAnswer(socket: Duplex, answer: ProxyAnswer): void {
  writeRawAnswer(socket, answer.status, answer.headers, answer.body, JSON_TYPE);
}
