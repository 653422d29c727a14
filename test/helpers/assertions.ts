/** What a user checks on a blocked request: status, `x-mgproxy-rule`, the runtime-style errMsg. */
import assert from 'node:assert/strict';
import type { Reply } from './clients.js';
import type { LogLine, ProxyProcess } from './proxy.js';

export function assertBlocked(reply: Reply, status: number, rule: string, errMsg: string): void {
  assert.equal(reply.status, status, reply.body.toString());
  assert.equal(reply.headers['x-mgproxy-rule'], rule);
  const body = reply.json<{ errMsg: string; rule: string; message: string }>();
  assert.equal(body.errMsg, errMsg);
  assert.equal(body.rule, rule);
  assert.ok(body.message.length > 0);
}

/** The violation log lines of `rule` (optionally for one URL), waiting up to `ms` for at least `count`. */
export async function violationsOf(proxy: ProxyProcess, rule: string, opts: { url?: string; count?: number; ms?: number } = {}): Promise<LogLine[]> {
  const match = (l: LogLine) => l.msg === 'violation' && l.rule === rule && (opts.url === undefined || l.url === opts.url);
  const deadline = Date.now() + (opts.ms ?? 5000);
  while (proxy.lines.filter(match).length < (opts.count ?? 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return proxy.lines.filter(match);
}

/** Every field SPEC §6 gives a request-bound event. */
export function assertEventFields(line: LogLine, expected: Record<string, unknown>): void {
  for (const key of ['rule', 'severity', 'api', 'method', 'url', 'host', 'client', 'action', 'message', 'time']) {
    assert.ok(line[key] !== undefined, `violation line has ${key}: ${JSON.stringify(line)}`);
  }
  for (const [k, v] of Object.entries(expected)) assert.equal(line[k], v, `${k} of ${JSON.stringify(line)}`);
}
