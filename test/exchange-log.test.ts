/**
 * The dashboard's timeline points (proxy/admin/exchange-store.ts): a ring of typed arrays per client that
 * keeps the newest MAX_POINTS in order, across growth and wrap-around.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Points } from '../proxy/admin/exchange-store.js';

it('keeps every point, in order, while it grows', () => {
  const p = new Points();
  const load = (i: number) => ({ http: i % 11, socket: i % 5, request: i % 3, uploadFile: i % 2, downloadFile: i % 4 });
  for (let i = 0; i < 1000; i++) p.push(i, load(i));
  const got = p.since(0);
  assert.equal(got.length, 1000);
  assert.deepEqual(got[0], { t: 0, ...load(0) });
  assert.deepEqual(got[999], { t: 999, ...load(999) });
  assert.ok(got.every((x, i) => x.t === i));
});

it('keeps the newest 20,000 once full, oldest first, and filters by time', () => {
  const p = new Points();
  for (let i = 0; i < 25_000; i++) p.push(i, { http: i % 7, socket: 0, request: i % 7, uploadFile: 0, downloadFile: 0 });
  const got = p.since(0);
  assert.equal(got.length, 20_000);
  assert.equal(got[0]!.t, 5000);
  assert.equal(got.at(-1)!.t, 24_999);
  assert.ok(got.every((x, i) => x.t === 5000 + i && x.http === (5000 + i) % 7));
  assert.equal(p.since(24_990).length, 10);
});

it('keeps one point per millisecond: a call that arrives and waits in the same millisecond draws no spike', () => {
  const p = new Points();
  p.push(1, { http: 11, socket: 0, request: 11, uploadFile: 0, downloadFile: 0 });
  p.push(1, { http: 10, socket: 0, request: 10, uploadFile: 0, downloadFile: 0 });
  p.push(2, { http: 9, socket: 0, request: 9, uploadFile: 0, downloadFile: 0 });
  assert.deepEqual(p.since(0).map((x) => [x.t, x.request]), [[1, 10], [2, 9]]);
});
