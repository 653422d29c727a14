/**
 * The off-heap ring of finished exchanges (proxy/admin/exchange-ring.ts): what goes in comes out
 * the same (every field, multi-byte text, header objects as Node's pairs), the oldest leave first
 * when the slots are full and when the byte arena wraps over them (each leaving told once), and a
 * record too big for the arena keeps its fields without its headers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExchangeRing, type RingNumbers, type RingText } from '../proxy/admin/exchange-ring.js';

function rec(id: number, extra: Partial<RingText> = {}): [RingNumbers, RingText] {
  return [
    { id, start: 1_700_000_000_000 + id, status: id % 3 === 0 ? undefined : 200, port: 443, firstByteMs: id % 2 ? 1.5 : undefined, durationMs: 2.25, bytesIn: id, bytesOut: 2 * id },
    {
      client: `10.0.0.${id % 250}`, ...(id % 4 === 0 ? { clientName: 'Pixel 测试 😀' } : {}), method: 'GET', url: `https://a.example.test/p/${id}?q=é`, api: 'request',
      ...(id % 5 === 0 ? {} : { outcome: 'completed' }), protocol: 'h2', violations: id % 2 ? ['timeout', 'referer-mismatch'] : [],
      ...(id % 7 === 0 ? { mapped: JSON.stringify({ type: 'local', to: '/x' }) } : {}), scheme: 'https', host: 'a.example.test', path: `/p/${id}?q=é`,
      requestHeaders: ['Host', 'a.example.test', 'Cookie', `k=${'v'.repeat(id % 100)}`],
      responseHeaders: { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'], 'x-n': id as unknown as string, gone: undefined },
      ...extra,
    },
  ];
}

describe('the exchange ring', () => {
  it('gives back every field as it was kept', () => {
    const ring = new ExchangeRing(100);
    for (let id = 1; id <= 60; id++) ring.add(...rec(id));
    for (const id of [1, 4, 7, 15, 60]) {
      const [n, t] = rec(id);
      const r = ring.get(id)!;
      assert.equal(r.id, id);
      assert.equal(r.start, n.start);
      assert.equal(r.status, n.status);
      assert.equal(r.firstByteMs, n.firstByteMs);
      assert.equal(r.durationMs, 2.25);
      assert.equal(r.bytesOut, 2 * id);
      assert.equal(r.clientName, t.clientName);
      assert.equal(r.outcome, t.outcome);
      assert.equal(r.url, t.url);
      assert.equal(r.path, t.path);
      assert.equal(r.mapped, t.mapped);
      assert.deepEqual(r.violations, t.violations);
      assert.deepEqual(r.requestHeaders, t.requestHeaders);
      // Object.entries order; an array value is a field per element; undefined is no field.
      assert.deepEqual(r.responseHeaders, ['content-type', 'application/json', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'x-n', String(id)]);
    }
    assert.equal(ring.startOf(7), rec(7)[0].start);
    assert.equal(ring.get(61), undefined);
    // Newest first.
    assert.deepEqual([0, 1, 2].map((k) => ring.at(k).id), [60, 59, 58]);
    assert.equal(ring.clientAt(0), '10.0.0.60');
  });

  it('lets the oldest go when its slots are full, telling each once', () => {
    const ring = new ExchangeRing(10);
    const evicted: number[] = [];
    ring.onEvict = (id) => evicted.push(id);
    for (let id = 1; id <= 25; id++) ring.add(...rec(id));
    assert.equal(ring.size, 10);
    assert.deepEqual(evicted, Array.from({ length: 15 }, (_, i) => i + 1));
    assert.equal(ring.get(15), undefined);
    assert.equal(ring.get(16)!.url, rec(16)[1].url);
    assert.equal(ring.get(25)!.url, rec(25)[1].url);
  });

  it('lets the oldest go when the arena wraps over them, and keeps the newest whole', () => {
    const ring = new ExchangeRing(100_000);
    const evicted = new Set<number>();
    ring.onEvict = (id) => { assert.ok(!evicted.has(id), `evicted twice: ${id}`); evicted.add(id); };
    // 64 KiB of headers each: the 16 MiB arena holds about 250 of them.
    const big = (id: number) => rec(id, { requestHeaders: ['x-big', String(id % 10).repeat(64 * 1024)] });
    for (let id = 1; id <= 2000; id++) ring.add(...big(id));
    assert.ok(ring.size > 50 && ring.size < 400, `kept ${ring.size}`);
    assert.equal(ring.size + evicted.size, 2000);
    // Every kept record is intact, the oldest kept as much as the newest.
    for (let k = 0; k < ring.size; k++) {
      const r = ring.at(k);
      assert.equal(r.requestHeaders[1], String(r.id % 10).repeat(64 * 1024));
      assert.equal(r.url, rec(r.id)[1].url);
    }
  });

  it('keeps a client name with a NUL in it (the separator), the character replaced', () => {
    const ring = new ExchangeRing(10);
    ring.add(...rec(1, { clientName: 'a\u0000b' }));
    assert.equal(ring.get(1)!.clientName, 'a\uFFFDb');
    assert.equal(ring.get(1)!.url, rec(1)[1].url);
  });

  it('keeps a record too big for its arena without its headers', () => {
    const ring = new ExchangeRing(10);
    ring.add(...rec(1, { requestHeaders: ['x-huge', 'z'.repeat(3 * 1024 * 1024)] }));
    const r = ring.get(1)!;
    assert.equal(r.url, rec(1)[1].url);
    assert.deepEqual(r.requestHeaders, []);
    assert.deepEqual(r.responseHeaders, []);
  });
});
