/**
 * The dashboard's timeline points (proxy/admin/exchange-store.ts): a ring of typed arrays per client that
 * keeps the newest MAX_POINTS in order, across growth and wrap-around.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Points } from '../proxy/admin/exchange-store.js';

it('keeps every point, in order, while it grows', () => {
  const p = new Points();
  for (let i = 0; i < 1000; i++) p.push(i, i % 11, i % 5);
  const got = p.since(0);
  assert.equal(got.length, 1000);
  assert.deepEqual(got[0], { t: 0, http: 0, socket: 0 });
  assert.deepEqual(got[999], { t: 999, http: 999 % 11, socket: 999 % 5 });
  assert.ok(got.every((x, i) => x.t === i));
});

it('keeps the newest 20,000 once full, oldest first, and filters by time', () => {
  const p = new Points();
  for (let i = 0; i < 25_000; i++) p.push(i, i % 7, 0);
  const got = p.since(0);
  assert.equal(got.length, 20_000);
  assert.equal(got[0]!.t, 5000);
  assert.equal(got.at(-1)!.t, 24_999);
  assert.ok(got.every((x, i) => x.t === 5000 + i && x.http === (5000 + i) % 7));
  assert.equal(p.since(24_990).length, 10);
});
