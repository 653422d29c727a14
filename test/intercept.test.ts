/**
 * Interception and forwarding: HTTPS through a CONNECT tunnel with real
 * clients, byte-exact both ways, keep-alive and pipelining, `upstream.hosts`, absolute-form HTTP,
 * passthrough tunnels.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import http from 'node:http';
import https from 'node:https';
import { curl, readAll, tlsTunnel, tunnelAgent } from './helpers/clients.js';
import { baseConfig, startWorld, type World } from './helpers/fixture.js';
import { patternChunks, patternSha256, sha256, startUpstream } from './helpers/upstreams.js';
import { startProxy } from './helpers/proxy.js';

const MiB = 1024 * 1024;

describe('HTTPS interception', () => {
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  for (const size of [0, 1, 200, 65_537, 50 * MiB]) {
    it(`downloads ${size} bytes byte-exact`, async () => {
      const r = await w.fetch(`https://api.example.test/bytes/${size}`, { keepBody: false });
      assert.equal(r.status, 200);
      assert.equal(r.sha256, patternSha256(size));
    });
  }

  for (const size of [0, 200, 50 * MiB]) {
    it(`uploads ${size} bytes byte-exact (chunked)`, async () => {
      const r = await w.fetch('https://api.example.test/sha256', { method: 'POST', body: patternChunks(size) });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), { sha256: patternSha256(size), bytes: size });
    });
  }

  it('uploads with Content-Length byte-exact', async () => {
    const body = Buffer.from('x'.repeat(100_000));
    const r = await w.fetch('https://api.example.test/sha256', { method: 'POST', body, headers: { 'content-length': String(body.length) } });
    assert.deepEqual(r.json(), { sha256: sha256(body), bytes: body.length });
  });

  it('serves curl byte-exact, trusting only the mgproxy CA', async () => {
    const r = await curl(['-x', w.proxy.url, '--cacert', w.proxy.caFile, 'https://cdn.example.test/bytes/300000']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(r.stdout), patternSha256(300_000));
  });

  it('keeps one tunnel alive for many requests', async () => {
    const agent = tunnelAgent(w.proxy.url, w.proxy.caPem, true);
    const before = w.upstream.connections;
    const sockets = new Set<unknown>();
    for (let i = 0; i < 5; i++) {
      const body = await new Promise<Buffer>((resolve, reject) => {
        const req = https.get(`https://api.example.test/bytes/${100 + i}`, { agent, ca: w.proxy.caPem }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        });
        req.on('socket', (s) => sockets.add(s));
        req.on('error', reject);
      });
      assert.equal(sha256(body), patternSha256(100 + i));
    }
    agent.destroy();
    assert.equal(sockets.size, 1, 'the client used one tunnel');
    assert.ok(w.upstream.connections - before <= 1, 'the proxy reused one upstream connection');
  });

  it('answers pipelined requests in order on one tunnel, HEAD included', async () => {
    const s = await tlsTunnel(w.proxy.port, 'api.example.test', 443, w.proxy.caPem);
    const all = readAll(s);
    s.write('HEAD /bytes/10 HTTP/1.1\r\nHost: api.example.test\r\n\r\n'
      + 'GET /bytes/20 HTTP/1.1\r\nHost: api.example.test\r\n\r\n'
      + 'GET /bytes/30 HTTP/1.1\r\nHost: api.example.test\r\nConnection: close\r\n\r\n');
    const text = (await all).toString('latin1');
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '200', '200']);
    const lengths = [...text.matchAll(/content-length: (\d+)/gi)].map((m) => m[1]);
    assert.deepEqual(lengths, ['10', '20', '30']);
  });

  it('answers Expect: 100-continue, then forwards the body sent after it', async () => {
    const s = await tlsTunnel(w.proxy.port, 'api.example.test', 443, w.proxy.caPem);
    const body = Buffer.from('y'.repeat(5000));
    const first = new Promise<string>((resolve) => s.once('data', (c: Buffer) => resolve(c.toString('latin1'))));
    s.write(`POST /sha256 HTTP/1.1\r\nHost: api.example.test\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
    const interim = await first;
    assert.match(interim, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
    const all = readAll(s);
    s.write(body);
    const text = interim.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '') + (await all).toString('latin1');
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.ok(text.includes(JSON.stringify({ sha256: sha256(body), bytes: body.length })), text);
    assert.equal(w.upstream.seen.at(-1)!.headers.expect, undefined, 'the proxy consumed the expectation');
  });

  it('sends the path exactly as given, double slashes and dot segments included', async () => {
    const s = await tlsTunnel(w.proxy.port, 'api.example.test', 443, w.proxy.caPem);
    const all = readAll(s);
    s.write('GET //a//b/../c?x=1&y=%2F HTTP/1.1\r\nHost: api.example.test\r\nConnection: close\r\n\r\n');
    assert.match((await all).toString('latin1'), /^HTTP\/1\.1 404/);
    assert.equal(w.upstream.seen.at(-1)!.url, '//a//b/../c?x=1&y=%2F');
  });

  it('passes a 64 KiB response header', async () => {
    const r = await w.fetch('https://api.example.test/big-headers?kb=64');
    assert.equal(r.status, 200);
    assert.equal(String(r.headers['x-big']).length, 64 * 1024);
  });

  it('keeps Host and sends SNI for the name while connecting to the mapped address', async () => {
    const r = await w.fetch('https://api.example.test/echo');
    assert.equal(r.json<{ headers: Record<string, string> }>().headers.host, 'api.example.test');
  });

  it('does not forward hop-by-hop headers', async () => {
    const r = await w.fetch('https://api.example.test/echo', { headers: { 'proxy-authorization': 'Basic eDp5', 'keep-alive': 'timeout=1', 'x-kept': '1' } });
    const headers = r.json<{ headers: Record<string, string> }>().headers;
    assert.equal(headers['proxy-authorization'], undefined);
    assert.equal(headers['keep-alive'], undefined);
    assert.equal(headers['x-kept'], '1');
  });
});

describe('upstream.hosts', () => {
  it('lets a host:port key win over the bare name', async () => {
    const w = await startWorld();
    const other = await startUpstream({ cert: w.pki.chain(w.pki.leaf({ names: ['api.example.test'] })), key: w.pki.leaf({ names: ['api.example.test'] }).keyPem });
    const proxy = await startProxy({
      config: baseConfig(w.upstream.address, w.pki.rootFile, {
        upstream: { hosts: { 'api.example.test': w.upstream.address, 'api.example.test:8443': other.address }, extraCaFiles: [w.pki.rootFile] },
      }),
    });
    try {
      const { viaProxy } = await import('./helpers/clients.js');
      await viaProxy(proxy.url, proxy.caPem, 'https://api.example.test:8443/echo');
      await viaProxy(proxy.url, proxy.caPem, 'https://api.example.test/echo');
      assert.equal(other.seen.length, 1, 'port 8443 went to its own mapping');
      assert.equal(w.upstream.seen.filter((s) => s.url === '/echo').length, 1, 'port 443 went to the bare name');
    } finally {
      await proxy.stop();
      await other.close();
      await w.close();
    }
  });
});

describe('absolute-form HTTP and passthrough', () => {
  let w: World;
  let plain: http.Server;
  let plainPort: number;
  const plainSeen: string[] = [];
  before(async () => {
    plain = http.createServer((req, res) => {
      plainSeen.push(`${req.method} ${req.url} ${req.headers.host}`);
      res.end(`plain ${req.url}`);
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    plainPort = (plain.address() as { port: number }).port;
    w = await startWorld({
      config: (address, root) => baseConfig(address, root, {
        mode: 'report',
        passthrough: ['*.passthrough.test'],
        upstream: { hosts: { 'api.example.test': address, 'plain.example.test': `127.0.0.1:${plainPort}`, 'x.passthrough.test': address }, extraCaFiles: [root] },
      }),
    });
  });
  after(async () => {
    await w.close();
    plain.close();
  });

  it('forwards an absolute-form http:// request', async () => {
    const r = await curl(['-x', w.proxy.url, 'http://plain.example.test/hello?q=1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'plain /hello?q=1');
    assert.equal(plainSeen.at(-1), 'GET /hello?q=1 plain.example.test');
  });

  it('tunnels passthrough hosts raw: the client sees the upstream\'s own certificate', async () => {
    // Trusting only the test root: it works only if mgproxy did not intercept.
    const r = await curl(['-x', w.proxy.url, '--cacert', w.pki.rootFile, 'https://x.passthrough.test/bytes/1000']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(r.stdout), patternSha256(1000));
    const refused = await curl(['-x', w.proxy.url, '--cacert', w.proxy.caFile, 'https://x.passthrough.test/bytes/10']);
    assert.notEqual(refused.code, 0, 'the mgproxy CA is not what the passthrough host presents');
  });
});
