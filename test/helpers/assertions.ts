/** What a user checks on a blocked request: status, `x-mgproxy-rule`, the runtime-style errMsg. */
import assert from 'node:assert/strict';
import type { Reply } from './clients.js';
import type { LogLine, ProxyProcess } from './proxy.js';
import { pollUntil } from './poll.js';

export function assertBlocked(reply: Reply, status: number, rule: string, errMsg: string): void {
  assert.equal(reply.status, status, reply.body.toString());
  assert.equal(reply.headers['x-mgproxy-rule'], rule);
  const body = reply.json<{ errMsg: string; rule: string; message: string }>();
  assert.equal(body.errMsg, errMsg);
  assert.equal(body.rule, rule);
  assert.ok(body.message.length > 0);
}

/**
 * Waits for the `exchanges`-th `"msg":"exchange"` line of `url` (bounded by `ms`). An exchange's
 * violations are all logged before its own exchange line, so once it is there, an absence or a
 * count can be asserted: no fixed window (log lines may be written up to 50 ms late, proxy/log.ts).
 */
export async function exchangeLogged(proxy: ProxyProcess, url: string, opts: { exchanges?: number; ms?: number } = {}): Promise<LogLine[]> {
  const match = (l: LogLine) => l.msg === 'exchange' && l.url === url;
  const want = opts.exchanges ?? 1;
  await pollUntil(`${want} exchange line(s) for ${url}`, () => proxy.lines.filter(match).length >= want, { ms: opts.ms ?? 10_000, every: 10 });
  return proxy.lines.filter(match);
}

/**
 * The violation log lines of `rule`, waiting up to `ms` for at least `count` (default 1). With
 * `url`: those of that URL, and never before its exchange line (the `exchanges`-th one) is logged,
 * so `count: 0` asserts an absence (a body finding behind a content-encoding too: the exchange's
 * end waits for the decoder, test/rules/response-multiple-bom.test.ts).
 */
export async function violationsOf(proxy: ProxyProcess, rule: string, opts: { url?: string; count?: number; exchanges?: number; ms?: number } = {}): Promise<LogLine[]> {
  const match = (l: LogLine) => l.msg === 'violation' && l.rule === rule && (opts.url === undefined || l.url === opts.url);
  if (opts.url !== undefined) await exchangeLogged(proxy, opts.url, { exchanges: opts.exchanges, ms: opts.ms });
  const deadline = Date.now() + (opts.ms ?? 5000);
  while (proxy.lines.filter(match).length < (opts.count ?? 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return proxy.lines.filter(match);
}

/**
 * Asserts that `rule`'s violation of `url` was logged before that exchange's own exchange line (an
 * exchange's findings are all recorded before it ends), looking only once the exchange line is there.
 */
export async function assertFindingBeforeExchange(proxy: ProxyProcess, rule: string, url: string): Promise<void> {
  await exchangeLogged(proxy, url);
  const exchangeAt = proxy.lines.findIndex((l) => l.msg === 'exchange' && l.url === url);
  const violationAt = proxy.lines.findIndex((l) => l.msg === 'violation' && l.rule === rule && l.url === url);
  assert.ok(violationAt >= 0 && violationAt < exchangeAt, `${rule} of ${url} logged before its exchange line (violation at ${violationAt}, exchange at ${exchangeAt}: ${JSON.stringify(proxy.lines[exchangeAt])})`);
}

/** Every field docs/rules.md gives a request-bound event. */
export function assertEventFields(line: LogLine, expected: Record<string, unknown>): void {
  for (const key of ['rule', 'severity', 'api', 'method', 'url', 'host', 'client', 'action', 'message', 'time']) {
    assert.ok(line[key] !== undefined, `violation line has ${key}: ${JSON.stringify(line)}`);
  }
  for (const [k, v] of Object.entries(expected)) assert.equal(line[k], v, `${k} of ${JSON.stringify(line)}`);
}
