import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openWs } from '../helpers/clients.js';
import { violationsOf } from '../helpers/assertions.js';
import { baseConfig, startWorld } from '../helpers/fixture.js';

const FIXED = 'https://appservice.wx.com/wx0123456789abcdef/0/page-frame.html';
type Echo = { headers: Record<string, string | undefined> };

describe('referer-mismatch', () => {
  it('rewrite (default): the upstream always gets the fixed Referer; a wrong one is recorded as rewritten, a missing one is no violation', async () => {
    const w = await startWorld();
    try {
      const none = await w.fetch('https://api.example.test/echo');
      assert.equal(none.json<Echo>().headers.referer, FIXED);
      const wrong = await w.fetch('https://api.example.test/echo', { headers: { referer: 'https://evil.example/x' } });
      assert.equal(wrong.json<Echo>().headers.referer, FIXED);
      const right = await w.fetch('https://api.example.test/echo', { headers: { referer: FIXED } });
      assert.equal(right.json<Echo>().headers.referer, FIXED);
      const lines = await violationsOf(w.proxy, 'referer-mismatch');
      assert.equal(lines.length, 1);
      assert.equal(lines[0]!.action, 'rewritten');
      assert.equal(lines[0]!.severity, 'warning');
      assert.match(String(lines[0]!.message), /evil\.example/);
      const ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/sock', { referer: 'https://evil.example/ws' });
      ws.close();
      assert.equal(w.upstream.seen.filter((s) => s.method === 'UPGRADE').at(-1)!.headers.referer, FIXED, 'WebSocket upgrades get it too');
    } finally {
      await w.close();
    }
  });

  it('rewrite mode still rewrites with --mode report (rewritten wins over reported)', async () => {
    const w = await startWorld({ proxy: { args: ['--mode', 'report'] } });
    try {
      const r = await w.fetch('https://api.example.test/echo', { headers: { referer: 'x' } });
      assert.equal(r.json<Echo>().headers.referer, FIXED);
      assert.equal((await violationsOf(w.proxy, 'referer-mismatch'))[0]!.action, 'rewritten');
    } finally {
      await w.close();
    }
  });

  it('check: forwards the client\'s Referer and reports; a malformed one is just a mismatch', async () => {
    const w = await startWorld({ config: (a, r) => baseConfig(a, r, { referer: 'check' }) });
    try {
      const r = await w.fetch('https://api.example.test/echo', { headers: { referer: '::not a url::' } });
      assert.equal(r.status, 200);
      assert.equal(r.json<Echo>().headers.referer, '::not a url::');
      assert.equal((await violationsOf(w.proxy, 'referer-mismatch'))[0]!.action, 'reported');
    } finally {
      await w.close();
    }
  });

  it('off: forwards the client\'s Referer (or none) and records nothing', async () => {
    const w = await startWorld({ config: (a, r) => baseConfig(a, r, { referer: 'off' }) });
    try {
      assert.equal((await w.fetch('https://api.example.test/echo')).json<Echo>().headers.referer, undefined);
      assert.equal((await w.fetch('https://api.example.test/echo?y', { headers: { referer: 'y' } })).json<Echo>().headers.referer, 'y');
      for (const url of ['https://api.example.test/echo', 'https://api.example.test/echo?y']) {
        assert.equal((await violationsOf(w.proxy, 'referer-mismatch', { url, count: 0 })).length, 0);
      }
    } finally {
      await w.close();
    }
  });
});
