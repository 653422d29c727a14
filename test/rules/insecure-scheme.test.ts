import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import http from 'node:http';
import WebSocket from 'ws';
import { curl, tunnelAgent } from '../helpers/clients.js';
import { violationsOf } from '../helpers/assertions.js';
import { baseConfig, startWorld, type World } from '../helpers/fixture.js';

describe('insecure-scheme', () => {
  let w: World;
  let plain: http.Server;
  let plainSeen = 0;
  before(async () => {
    plain = http.createServer((_req, res) => { plainSeen++; res.end('plain'); });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const port = (plain.address() as { port: number }).port;
    w = await startWorld({
      config: (a, r) => {
        const c = baseConfig(a, r);
        (c.upstream.hosts as Record<string, string>)['api.example.test:80'] = `127.0.0.1:${port}`;
        return c;
      },
    });
  });
  after(async () => {
    await w.close();
    plain.close();
  });

  it('blocks a plain http:// request to an allowed domain with 403 and the errMsg', async () => {
    const r = await curl(['-x', w.proxy.url, '-D', '-', 'http://api.example.test/x']);
    const text = r.stdout.toString();
    assert.match(text, /^HTTP\/1\.1 403/);
    assert.match(text, /x-mgproxy-rule: insecure-scheme/);
    assert.equal(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).errMsg, 'request:fail url not in domain list');
    assert.equal(plainSeen, 0, 'the upstream never saw it');
    const [line] = await violationsOf(w.proxy, 'insecure-scheme');
    assert.equal(line!.url, 'http://api.example.test/x');
    assert.equal(line!.action, 'blocked');
  });

  it('blocks ws:// sent inside a CONNECT tunnel (no TLS) with the connectSocket errMsg', async () => {
    const ws = new WebSocket('ws://ws.example.test/sock', { agent: tunnelAgent(w.proxy.url, w.proxy.caPem) });
    const status = await new Promise<{ code?: number; body: string }>((resolve) => {
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve({ code: res.statusCode, body }));
      });
      ws.on('error', () => resolve({ body: '' }));
    });
    assert.equal(status.code, 403);
    assert.equal(JSON.parse(status.body).errMsg, 'connectSocket:fail url not in domain list');
    assert.equal((await violationsOf(w.proxy, 'insecure-scheme', { url: 'ws://ws.example.test/sock' })).length, 1);
  });
});

describe('insecure-scheme in report mode', () => {
  it('forwards and records', async () => {
    const plain = http.createServer((_req, res) => res.end('plain ok'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const port = (plain.address() as { port: number }).port;
    const w = await startWorld({ config: (a, r) => ({ ...baseConfig(a, r, { mode: 'report' }), upstream: { hosts: { 'api.example.test': `127.0.0.1:${port}` }, extraCaFiles: [r] } }) });
    try {
      const r = await curl(['-x', w.proxy.url, 'http://api.example.test/x']);
      assert.equal(r.stdout.toString(), 'plain ok');
      assert.equal((await violationsOf(w.proxy, 'insecure-scheme'))[0]!.action, 'reported');
    } finally {
      await w.close();
      plain.close();
    }
  });
});
