import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openWs } from '../helpers/clients.js';
import { assertBlocked, assertEventFields, violationsOf } from '../helpers/assertions.js';
import { baseConfig, startWorld, type World } from '../helpers/fixture.js';

const MULTIPART = { 'content-type': 'multipart/form-data; boundary=x' };
const FORM = '--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n--x--\r\n';

describe('domain-not-allowed (enforce)', () => {
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  it('blocks a host in no list with 403, the rule header and the runtime errMsg; the upstream never sees it', async () => {
    const seen = w.upstream.seen.length;
    const connections = w.upstream.connections;
    const r = await w.fetch('https://evil.example.test/x');
    assertBlocked(r, 403, 'domain-not-allowed', 'request:fail url not in domain list');
    assert.equal(w.upstream.seen.length, seen);
    assert.equal(w.upstream.connections, connections, 'no upstream connection was opened');
    const [line] = await violationsOf(w.proxy, 'domain-not-allowed', { url: 'https://evil.example.test/x' });
    assertEventFields(line!, { severity: 'error', api: 'request', method: 'GET', host: 'evil.example.test', client: '127.0.0.1', action: 'blocked', message: 'evil.example.test is not in domains.request' });
  });

  it('allows a GET to a downloadFile domain and classifies it as downloadFile', async () => {
    const r = await w.fetch('https://cdn.example.test/bytes/10');
    assert.equal(r.status, 200);
    const line = await w.proxy.waitFor((l) => l.msg === 'exchange' && l.url === 'https://cdn.example.test/bytes/10');
    assert.equal(line.api, 'downloadFile');
  });

  it('blocks a POST to a downloadFile-only domain (downloadFile is GET only)', async () => {
    const r = await w.fetch('https://cdn.example.test/echo', { method: 'POST', body: '{}' });
    assertBlocked(r, 403, 'domain-not-allowed', 'request:fail url not in domain list');
  });

  it('allows a multipart upload to an uploadFile domain', async () => {
    assert.equal((await w.fetch('https://upload.example.test/echo', { method: 'POST', headers: MULTIPART, body: FORM })).status, 200);
  });

  it('blocks a multipart upload to a host only in domains.request: the uploadFile list decides (docs/rules.md)', async () => {
    const seen = w.upstream.seen.length;
    const r = await w.fetch('https://api.example.test/echo?multipart', { method: 'POST', headers: MULTIPART, body: FORM });
    assertBlocked(r, 403, 'domain-not-allowed', 'uploadFile:fail url not in domain list');
    assert.equal(w.upstream.seen.length, seen, 'the upstream never saw it');
    const [line] = await violationsOf(w.proxy, 'domain-not-allowed', { url: 'https://api.example.test/echo?multipart' });
    assertEventFields(line!, { api: 'uploadFile', method: 'POST', action: 'blocked', message: 'api.example.test is not in domains.uploadFile' });
  });

  it('blocks a multipart upload elsewhere with the uploadFile prefix', async () => {
    const r = await w.fetch('https://cdn.example.test/echo', { method: 'POST', headers: MULTIPART, body: FORM });
    assertBlocked(r, 403, 'domain-not-allowed', 'uploadFile:fail url not in domain list');
  });

  it('answers a WebSocket to a host outside domains.socket with the HTTP error instead of a 101', async () => {
    const err = await openWs(w.proxy.url, w.proxy.caPem, 'wss://api.example.test/sock').then(() => undefined, (e: { status?: number; headers?: Record<string, string>; body?: string }) => e);
    assert.equal(err?.status, 403);
    assert.equal(err?.headers?.['x-mgproxy-rule'], 'domain-not-allowed');
    assert.equal(JSON.parse(err!.body!).errMsg, 'connectSocket:fail url not in domain list');
    const ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/sock');
    ws.close();
  });

  it('matches host names case-insensitively and ignores the port', async () => {
    assert.equal((await w.fetch('https://API.Example.Test:443/bytes/1')).status, 200);
  });
});

describe('domain-not-allowed (report mode and skipVerification)', () => {
  it('forwards in report mode and records the violation as reported', async () => {
    const w = await startWorld({ config: (a, r) => baseConfig(a, r, { mode: 'report' }) });
    try {
      const r = await w.fetch('https://evil.example.test/bytes/5');
      assert.equal(r.status, 200);
      assert.equal(w.upstream.seen.at(-1)?.url, '/bytes/5');
      const [line] = await violationsOf(w.proxy, 'domain-not-allowed');
      assert.equal(line!.action, 'reported');
    } finally {
      await w.close();
    }
  });

  it('is not applied with skipVerification, nor is --mode report needed', async () => {
    const w = await startWorld({ config: (a, r) => baseConfig(a, r, { skipVerification: true }) });
    try {
      assert.equal((await w.fetch('https://evil.example.test/bytes/5')).status, 200);
      assert.equal(w.proxy.violations().length, 0);
    } finally {
      await w.close();
    }
  });

  it('--mode report overrides the config\'s enforce', async () => {
    const w = await startWorld({ proxy: { args: ['--mode', 'report'] } });
    try {
      assert.equal((await w.fetch('https://evil.example.test/bytes/5')).status, 200);
      assert.equal((await violationsOf(w.proxy, 'domain-not-allowed'))[0]!.action, 'reported');
    } finally {
      await w.close();
    }
  });
});
