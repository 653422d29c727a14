/**
 * Checks a HAR file against the required fields of HAR 1.2
 * (http://www.softwareishard.com/blog/har-12-spec/), as importers such as Chrome DevTools read
 * them, and returns it parsed.
 */
import assert from 'node:assert/strict';

export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: { method: string; url: string; httpVersion: string; headers: { name: string; value: string }[]; bodySize: number; postData?: { mimeType: string; text: string; _encoding?: string } };
  response: { status: number; statusText: string; headers: { name: string; value: string }[]; content: { size: number; mimeType: string; text?: string; encoding?: string; comment?: string }; bodySize: number };
  timings: Record<string, number>;
  _resourceType?: string;
  _mgproxy: { id: number; api: string; client: string; outcome: string; violations: Record<string, unknown>[]; bodyOmitted?: boolean; omitted?: string[] };
}

export interface Har { log: { version: string; creator: { name: string; version: string }; entries: HarEntry[] } }

const isNameValueList = (v: unknown) => Array.isArray(v) && v.every((h) => typeof h.name === 'string' && typeof h.value === 'string');

export function parseHar(text: string): Har {
  const har = JSON.parse(text) as Har;
  assert.equal(har.log.version, '1.2');
  assert.equal(typeof har.log.creator.name, 'string');
  assert.equal(typeof har.log.creator.version, 'string');
  assert.ok(Array.isArray(har.log.entries));
  for (const [i, e] of har.log.entries.entries()) {
    const where = `entry ${i} (${e.request?.method} ${e.request?.url})`;
    assert.ok(!Number.isNaN(Date.parse(e.startedDateTime)) && /T.*(Z|[+-]\d\d:\d\d)$/.test(e.startedDateTime), `${where}: startedDateTime`);
    assert.ok(typeof e.time === 'number' && e.time >= 0, `${where}: time`);
    const q = e.request;
    assert.ok(typeof q.method === 'string' && typeof q.url === 'string' && typeof q.httpVersion === 'string', `${where}: request line`);
    for (const k of ['cookies', 'headers', 'queryString'] as const) assert.ok(Array.isArray((q as Record<string, unknown>)[k]), `${where}: request.${k}`);
    assert.ok(isNameValueList(q.headers), `${where}: request.headers`);
    assert.ok(typeof (q as Record<string, unknown>).headersSize === 'number' && typeof q.bodySize === 'number', `${where}: request sizes`);
    const r = e.response;
    assert.ok(typeof r.status === 'number' && typeof r.statusText === 'string' && typeof (r as Record<string, unknown>).httpVersion === 'string', `${where}: status line`);
    assert.ok(Array.isArray((r as Record<string, unknown>).cookies) && isNameValueList(r.headers), `${where}: response headers`);
    assert.ok(typeof r.content.size === 'number' && typeof r.content.mimeType === 'string', `${where}: content`);
    assert.ok(typeof (r as Record<string, unknown>).redirectURL === 'string' && typeof r.bodySize === 'number', `${where}: response sizes`);
    assert.equal(typeof (e as unknown as Record<string, unknown>).cache, 'object', `${where}: cache`);
    for (const k of ['send', 'wait', 'receive']) assert.ok(e.timings[k]! >= 0, `${where}: timings.${k}`);
    for (const k of ['blocked', 'dns', 'connect', 'ssl']) assert.ok(e.timings[k] === undefined || e.timings[k]! >= -1, `${where}: timings.${k}`);
    const sum = ['blocked', 'dns', 'connect', 'send', 'wait', 'receive'].reduce((n, k) => n + Math.max(0, e.timings[k] ?? 0), 0);
    assert.ok(Math.abs(sum - e.time) < 0.01, `${where}: time is the sum of the timings`);
    assert.ok(Array.isArray(e._mgproxy.violations), `${where}: _mgproxy.violations`);
  }
  return har;
}

export const header = (list: { name: string; value: string }[], name: string) => list.find((h) => h.name.toLowerCase() === name)?.value;
