/**
 * The upstream proxy (docs/upstream-proxy.md): with `--upstream-proxy` / `upstream.proxy`, every
 * upstream connection is a CONNECT tunnel through it with Basic credentials, TLS and
 * verification unchanged (HTTPS, WSS, the inline TLS audit and `mgproxy audit`); `upstream.noProxy`
 * and `upstream.hosts` go direct; a refusing or unreachable proxy is 502 `x-mgproxy-error:
 * upstream-proxy`; the password is printed nowhere. The fixture proxy resolves the fake names
 * itself and counts its tunnels, so "through the chain" and "direct" are asserted.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import http from 'node:http';
import { openWs, readAll, sha256, tlsTunnel, viaProxy } from './helpers/clients.js';
import { type ConnectProxy, startConnectProxy } from './helpers/connect-proxy.js';
import { type H2Origin, startH2Origin } from './helpers/h2-origin.js';
import { admin } from './helpers/fixture.js';
import { TestPki } from './helpers/pki.js';
import { type ProxyProcess, runCli, startProxy, tempDir } from './helpers/proxy.js';
import { patternSha256, startUpstream, type Upstream } from './helpers/upstreams.js';
import { bypassesProxy, compileNoProxy, parseUpstreamProxy } from '../config/upstream-proxy.js';

const PASSWORD = 'hunter2-s3cr3t';
const WRONG = 'wr0ng-passw0rd';
/** What a leak of the credentials would look like, in clear or in the header. */
const leaks = (text: string, pass = PASSWORD) => [pass, Buffer.from(`qa:${pass}`).toString('base64')].filter((s) => text.includes(s));

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('upstream proxy', () => {
  let pki: TestPki;
  let upstream: Upstream;
  let chain: ConnectProxy;
  let proxy: ProxyProcess;
  let dir: string;
  let config: Record<string, unknown>;
  let plain: http.Server;
  let expired: Upstream;
  let h2: H2Origin;
  before(async () => {
    pki = new TestPki();
    const leaf = pki.leaf({ names: ['api.example.test', 'ws.example.test', 'cdn.example.test', 'pass.example.test', 'localhost'] });
    upstream = await startUpstream({ cert: pki.chain(leaf), key: leaf.keyPem });
    const day = 86_400_000;
    const old = pki.leaf({ names: ['old.example.test'], notBefore: new Date(Date.now() - 30 * day), notAfter: new Date(Date.now() - day) });
    expired = await startUpstream({ cert: pki.chain(old), key: old.keyPem });
    const h2leaf = pki.leaf({ names: ['h2.example.test'] });
    h2 = await startH2Origin({ cert: pki.chain(h2leaf), key: h2leaf.keyPem });
    plain = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(`plain ${req.url}`); });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    chain = await startConnectProxy({
      pass: PASSWORD,
      resolve: {
        'api.example.test:443': upstream.address, 'ws.example.test:443': upstream.address, 'pass.example.test:443': upstream.address,
        'old.example.test:443': expired.address, 'h2.example.test:443': h2.address,
        'plain.example.test:80': `127.0.0.1:${(plain.address() as net.AddressInfo).port}`,
      },
    });
    config = {
      appid: 'wx0123456789abcdef', version: '0',
      // report: localhost (a name that resolves, for noProxy) cannot be listed; it is forwarded and recorded.
      mode: 'report',
      domains: { request: ['https://api.example.test', 'https://old.example.test', 'https://h2.example.test'], uploadFile: [], downloadFile: ['https://cdn.example.test'], socket: ['wss://ws.example.test'] },
      upstream: { hosts: { 'cdn.example.test': upstream.address }, extraCaFiles: [pki.rootFile], noProxy: ['localhost', '*.corp.test'] },
      passthrough: ['pass.example.test'],
    };
    dir = tempDir();
    proxy = await startProxy({ config, args: ['--upstream-proxy', chain.url, '--report', path.join(dir, 'report.json'), '--har', path.join(dir, 'run.har')] });
  });
  after(async () => {
    await proxy.stop();
    await chain.close();
    await upstream.close();
    await expired.close();
    await h2.close();
    plain.close();
    pki.cleanup();
  });

  it('sends HTTPS through the chain with CONNECT and Basic credentials, bodies byte-exact both ways', async () => {
    const down = await viaProxy(proxy.url, proxy.caPem, 'https://api.example.test/bytes/300000');
    assert.equal(down.status, 200);
    assert.equal(down.sha256, patternSha256(300000));
    const body = crypto.randomBytes(200_000);
    const up = await viaProxy(proxy.url, proxy.caPem, 'https://api.example.test/sha256', { method: 'POST', body });
    assert.deepEqual(up.json(), { sha256: sha256(body), bytes: body.length });
    // The forwarding connection and the TLS audit's two handshakes: every one a tunnel to the game's host.
    assert.ok(chain.tunnels.length >= 2, chain.tunnels.join(','));
    assert.deepEqual([...new Set(chain.tunnels)], ['api.example.test:443']);
    assert.equal(chain.refused, 0);
    // The host was audited through the chain: no TLS finding, no unreachable.
    assert.deepEqual(proxy.violations().filter((v) => String(v.rule).startsWith('tls-')), []);
  });

  it('opens a WSS socket through the chain, frames byte-exact', async () => {
    const before = chain.tunnels.filter((t) => t === 'ws.example.test:443').length;
    const ws = await openWs(proxy.url, proxy.caPem, 'wss://ws.example.test/sock');
    const big = crypto.randomBytes(256 * 1024);
    const got = new Promise<Buffer>((resolve) => ws.once('message', (data) => resolve(data as Buffer)));
    ws.send(big, { binary: true });
    assert.equal(sha256(await got), sha256(big));
    ws.close(1000);
    assert.ok(chain.tunnels.filter((t) => t === 'ws.example.test:443').length > before);
    assert.ok(upstream.seen.some((s) => s.method === 'UPGRADE' && s.url === '/sock'));
  });

  it('speaks HTTP/2 to an h2-only origin through the chain (ALPN inside the tunnel), byte-exact', async () => {
    const r = await viaProxy(proxy.url, proxy.caPem, 'https://h2.example.test/bytes/100000');
    assert.equal(r.status, 200);
    assert.equal(r.sha256, patternSha256(100000));
    const line = await proxy.waitFor((l) => l.msg === 'exchange' && l.url === 'https://h2.example.test/bytes/100000');
    assert.equal(line.upstreamAlpn, 'h2');
    assert.ok(h2.sessions >= 1);
    assert.ok(chain.tunnels.includes('h2.example.test:443'));
  });

  it('forwards to a host the audit found wanting (report mode) on the pinned connection, through the chain', async () => {
    const r = await viaProxy(proxy.url, proxy.caPem, 'https://old.example.test/bytes/2000');
    assert.equal(r.status, 200);
    assert.equal(r.sha256, patternSha256(2000));
    await proxy.waitFor((l) => l.msg === 'violation' && l.rule === 'tls-expired' && l.host === 'old.example.test');
    assert.ok(chain.tunnels.includes('old.example.test:443'));
    assert.equal(expired.seen.length, 1);
  });

  it('sends plain HTTP (absolute-form) and passthrough tunnels through the chain too', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: proxy.port, path: 'http://plain.example.test/hello', headers: { host: 'plain.example.test' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
    assert.deepEqual(answer, { status: 200, body: 'plain /hello' });
    assert.ok(chain.tunnels.includes('plain.example.test:80'));
    // Passthrough: the client's own TLS with the upstream, end to end through both proxies.
    const socket = await tlsTunnel(proxy.port, 'pass.example.test', 443, pki.root.certPem);
    socket.end('GET /bytes/5000 HTTP/1.1\r\nHost: pass.example.test\r\nConnection: close\r\n\r\n');
    const raw = await readAll(socket);
    const split = raw.indexOf('\r\n\r\n');
    assert.match(raw.subarray(0, split).toString('latin1'), /^HTTP\/1\.1 200/);
    assert.equal(sha256(raw.subarray(split + 4)), patternSha256(5000));
    assert.ok(chain.tunnels.includes('pass.example.test:443'));
  });

  it('goes direct for upstream.hosts mappings and upstream.noProxy hosts (no tunnel opened)', async () => {
    const count = chain.tunnels.length;
    const mapped = await viaProxy(proxy.url, proxy.caPem, 'https://cdn.example.test/bytes/1000');
    assert.equal(mapped.sha256, patternSha256(1000));
    const bypassed = await viaProxy(proxy.url, proxy.caPem, `https://localhost:${upstream.port}/bytes/1000`);
    assert.equal(bypassed.sha256, patternSha256(1000));
    await proxy.waitFor((l) => l.msg === 'exchange' && String(l.url).startsWith('https://localhost:'));
    assert.equal(chain.tunnels.length, count, chain.tunnels.slice(count).join(','));
  });

  it('prints the password nowhere: log lines, reports, HAR, the API', async () => {
    const ready = await proxy.waitFor((l) => String(l.msg).startsWith('mgproxy listening on'));
    assert.equal(ready.upstreamProxy, `http://127.0.0.1:${chain.port}`);
    for (const p of ['/api/config', '/api/exchanges', '/api/report', '/api/violations', '/api/stats']) {
      const r = await admin(proxy, 'GET', p);
      assert.deepEqual(leaks(JSON.stringify(r.json)), [], p);
    }
    await proxy.stop();
    for (const [what, text] of [['stdout', proxy.stdout()], ['stderr', proxy.stderr()], ['report', fs.readFileSync(path.join(dir, 'report.json'), 'utf8')], ['HAR', fs.readFileSync(path.join(dir, 'run.har'), 'utf8')]] as const) {
      assert.deepEqual(leaks(text), [], what);
    }
    assert.ok(fs.readFileSync(path.join(dir, 'run.har'), 'utf8').includes('api.example.test/bytes/300000'));
  });
});

describe('upstream proxy that refuses or cannot be reached', () => {
  let pki: TestPki;
  let upstream: Upstream;
  let chain: ConnectProxy;
  let config: object;
  /** The fixture's own name table; tests add to it. */
  const resolve: Record<string, string> = {};
  before(async () => {
    pki = new TestPki();
    const leaf = pki.leaf({ names: ['api.example.test', 'ws.example.test'] });
    upstream = await startUpstream({ cert: pki.chain(leaf), key: leaf.keyPem });
    Object.assign(resolve, { 'api.example.test:443': upstream.address, 'ws.example.test:443': upstream.address });
    chain = await startConnectProxy({ pass: PASSWORD, resolve });
    config = {
      appid: 'wx0123456789abcdef', version: '0',
      domains: { request: ['https://api.example.test'], uploadFile: [], downloadFile: [], socket: ['wss://ws.example.test'] },
      upstream: { extraCaFiles: [pki.rootFile] },
    };
  });
  after(async () => {
    await chain.close();
    await upstream.close();
    pki.cleanup();
  });

  it('wrong credentials: 502 upstream-proxy with the 407 in the message, for HTTPS and WSS; the password printed nowhere', async () => {
    const proxy = await startProxy({ config: { ...config, upstream: { extraCaFiles: [pki.rootFile], proxy: `http://qa:${WRONG}@127.0.0.1:${chain.port}` } } });
    const r = await viaProxy(proxy.url, proxy.caPem, 'https://api.example.test/bytes/10');
    assert.equal(r.status, 502);
    assert.equal(r.headers['x-mgproxy-error'], 'upstream-proxy');
    const body = r.json<{ errMsg: string; message: string }>();
    assert.match(body.message, new RegExp(`^the upstream proxy http://127\\.0\\.0\\.1:${chain.port} answered 407 Proxy Authentication Required to CONNECT api\\.example\\.test:443$`));
    assert.equal(body.errMsg, 'request:fail upstream proxy 407');
    const ws = await openWs(proxy.url, proxy.caPem, 'wss://ws.example.test/sock').then(() => undefined, (err: { status?: number; headers?: Record<string, string> }) => err);
    assert.equal(ws?.status, 502);
    assert.equal(ws?.headers?.['x-mgproxy-error'], 'upstream-proxy');
    assert.ok(chain.refused >= 2);
    assert.equal(upstream.seen.length, 0);
    const line = await proxy.waitFor((l) => l.msg === 'upstream error');
    assert.equal(line.cause, 'upstream-proxy');
    const api = await admin(proxy, 'GET', '/api/config');
    await proxy.stop();
    assert.deepEqual(leaks(`${proxy.stdout()}${proxy.stderr()}${JSON.stringify(api.json)}`, WRONG), []);
  });

  it('unreachable: 502 upstream-proxy naming the refused connection', async () => {
    const port = await closedPort();
    const proxy = await startProxy({ config, args: ['--upstream-proxy', `http://qa:${PASSWORD}@127.0.0.1:${port}`] });
    const r = await viaProxy(proxy.url, proxy.caPem, 'https://api.example.test/bytes/10');
    assert.equal(r.status, 502);
    assert.equal(r.headers['x-mgproxy-error'], 'upstream-proxy');
    assert.equal(r.json<{ message: string }>().message, `the upstream proxy http://127.0.0.1:${port} cannot be reached: ECONNREFUSED`);
    await proxy.stop();
    assert.deepEqual(leaks(`${proxy.stdout()}${proxy.stderr()}`), []);
  });

  it('`mgproxy audit` probes through the chain (two tunnels to the host) and passes', async () => {
    const file = path.join(tempDir(), 'mgproxy.config.json');
    fs.writeFileSync(file, JSON.stringify({ ...config, upstream: { extraCaFiles: [pki.rootFile], proxy: chain.url } }));
    const before = chain.tunnels.length;
    const r = await runCli(['audit', 'api.example.test', '--config', file, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const host = JSON.parse(r.stdout).hosts[0];
    assert.equal(host.host, 'api.example.test');
    assert.deepEqual(chain.tunnels.slice(before), ['api.example.test:443', 'api.example.test:443']);
    assert.deepEqual(leaks(r.stdout + r.stderr), []);
  });

  it('`mgproxy audit` fetches a missing intermediate (AIA) through the chain too', async () => {
    const leaf = pki.leaf({ names: ['aia.example.test'], caIssuers: 'http://ca.aia.example.test/intermediate.der' });
    const tlsServer = await startUpstream({ cert: leaf.certPem, key: leaf.keyPem });
    const fetched: string[] = [];
    const ca = http.createServer((req, res) => {
      fetched.push(`${req.headers.host}${req.url}`);
      res.writeHead(200, { 'content-type': 'application/pkix-cert' });
      res.end(pki.intermediate.x509.raw);
    });
    await new Promise<void>((r) => ca.listen(0, '127.0.0.1', r));
    try {
      Object.assign(resolve, { 'aia.example.test:443': tlsServer.address, 'ca.aia.example.test:80': `127.0.0.1:${(ca.address() as net.AddressInfo).port}` });
      const file = path.join(tempDir(), 'mgproxy.config.json');
      fs.writeFileSync(file, JSON.stringify({ ...config, upstream: { extraCaFiles: [pki.rootFile], proxy: chain.url } }));
      const r = await runCli(['audit', 'aia.example.test', '--config', file, '--json']);
      assert.ok(r.stdout.startsWith('{'), r.stdout + r.stderr);
      const h = JSON.parse(r.stdout).hosts[0];
      assert.deepEqual(h.findings.map((f: { rule: string }) => f.rule), ['tls-chain-incomplete']);
      assert.deepEqual(fetched, ['ca.aia.example.test/intermediate.der']);
      assert.ok(chain.tunnels.includes('ca.aia.example.test:80'));
    } finally {
      ca.close();
      await tlsServer.close();
    }
  });

  it('`mgproxy audit --upstream-proxy` with wrong credentials reports the host unreachable, naming the 407', async () => {
    const file = path.join(tempDir(), 'mgproxy.config.json');
    fs.writeFileSync(file, JSON.stringify(config));
    const r = await runCli(['audit', 'api.example.test', '--config', file, '--upstream-proxy', `http://qa:${WRONG}@127.0.0.1:${chain.port}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /answered 407/);
    assert.deepEqual(leaks(r.stdout + r.stderr, WRONG), []);
  });
});

describe('upstream proxy settings', () => {
  it('a bad --upstream-proxy is one line, exit 2, its password masked', async () => {
    for (const value of [`socks5://qa:${PASSWORD}@127.0.0.1:1080`, `http://qa:${PASSWORD}@127.0.0.1:99999`, `http://qa:${PASSWORD}@127.0.0.1:3128/path`]) {
      const r = await runCli(['start', '--port', '0', '--ca-dir', path.join(tempDir(), 'ca'), '--upstream-proxy', value]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^mgproxy: --upstream-proxy must be http:\/\/\[user:pass@\]host:port/);
      assert.deepEqual(leaks(r.stderr), []);
    }
  });

  it('bad upstream.proxy and upstream.noProxy are config-schema errors with their path, the password masked', async () => {
    const file = path.join(tempDir(), 'mgproxy.config.json');
    fs.writeFileSync(file, JSON.stringify({ upstream: { proxy: `https://qa:${PASSWORD}@proxy.corp.test:3128`, noProxy: ['ok.test', 'bad..name', '*.fine.test', 'host:80'] } }));
    const r = await runCli(['check-config', '--config', file]);
    assert.equal(r.code, 2);
    const lines = `${r.stdout}${r.stderr}`.trim().split('\n').filter((l) => l.startsWith('error '));
    assert.deepEqual(lines.map((l) => l.split(' ').slice(0, 3).join(' ')), ['error config-schema upstream.proxy', 'error config-schema upstream.noProxy[1]', 'error config-schema upstream.noProxy[3]']);
    assert.match(lines[0]!, /"https:\/\/\*\*\*@proxy\.corp\.test:3128"/);
    assert.deepEqual(leaks(r.stdout + r.stderr), []);
  });

  it('parses the URL and matches noProxy patterns', () => {
    const p = parseUpstreamProxy('http://q%40a:p%3Ass@Proxy.Corp.test:3128');
    assert.ok(!('error' in p));
    assert.equal(p.url, 'http://proxy.corp.test:3128');
    assert.equal(p.authorization, `Basic ${Buffer.from('q@a:p:ss').toString('base64')}`);
    assert.equal((parseUpstreamProxy('http://[::1]:8080') as { url: string }).url, 'http://[::1]:8080');
    assert.equal((parseUpstreamProxy('http://proxy.test') as { port: number }).port, 80);
    const np = compileNoProxy(['localhost', '*.corp.test', '.lab.test', '10.1.2.3', '[::1]']);
    const table: [string, boolean][] = [
      ['localhost', true], ['a.corp.test', true], ['corp.test', false], ['x.y.lab.test', true], ['10.1.2.3', true], ['::1', true],
      ['10.1.2.4', false], ['api.example.test', false],
    ];
    for (const [host, direct] of table) assert.equal(bypassesProxy(np, host), direct, host);
    assert.equal(bypassesProxy(compileNoProxy(['*']), 'anything.test'), true);
  });
});
