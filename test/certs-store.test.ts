/**
 * The store of minted contexts (certs/store.ts, docs/certificates.md): a context per host and key
 * type, minted once, bounded by a count of contexts (each twin counts), least recently used first.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadOrCreateCa } from '../certs/ca.js';
import { CertStore, type MintEvent } from '../certs/store.js';
import { tempDir } from './helpers/proxy.js';

describe('CertStore', () => {
  const { ca } = loadOrCreateCa(path.join(tempDir(), 'ca'));

  it('mints one context per host and key type, once, however many ask at once', async () => {
    const mints: MintEvent[] = [];
    const store = new CertStore(ca, 10, (m) => mints.push(m));
    const [a, b] = await Promise.all([store.context('one.example.test', 'ec'), store.context('one.example.test', 'ec')]);
    assert.equal(a, b);
    assert.deepEqual(mints.map((m) => [m.host, m.key]), [['one.example.test', 'ec']]);
    assert.ok(store.has('one.example.test', 'ec') && !store.has('one.example.test', 'rsa'));
    assert.notEqual(await store.context('one.example.test', 'rsa'), a);
    assert.deepEqual(mints.map((m) => m.key), ['ec', 'rsa']);
    assert.equal(store.size, 2);
  });

  it('counts contexts against its bound, twins included, and evicts the least recently used', async () => {
    const store = new CertStore(ca, 3);
    await store.context('a.example.test', 'ec');
    await store.context('a.example.test', 'rsa');
    await store.context('b.example.test', 'ec');
    await store.context('a.example.test', 'ec'); // used again: b's is now the oldest after a's RSA
    await store.context('c.example.test', 'ec');
    assert.equal(store.size, 3);
    assert.deepEqual(['a ec', 'a rsa', 'b ec', 'c ec'].filter((k) => {
      const [h, t] = k.split(' ') as [string, 'ec' | 'rsa'];
      return store.has(`${h}.example.test`, t);
    }), ['a ec', 'b ec', 'c ec']);
  });
});
