/**
 * Replay and copy as cURL (docs/toolkit.md) on real sockets: `POST /api/replay` sends a kept
 * request again as a new exchange from client `replay` (the upstream counts it twice, body and
 * headers alike; a blocked one is blocked again; 404 and 409); `GET /api/exchange?id=N&as=curl`
 * is a command line that `sh -c` runs through the proxy to the same answer, the upstream seeing
 * the same method, headers and body (a header with quotes, a binary body through printf).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { curlBinary, viaProxy } from './helpers/clients.js';
import { admin, baseConfig, HOSTS } from './helpers/fixture.js';
import { TestPki } from './helpers/pki.js';
import { pollUntil } from './helpers/poll.js';
import { type ProxyProcess, startProxy } from './helpers/proxy.js';
import { sha256, startUpstream, type Upstream } from './helpers/upstreams.js';

interface Received { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }

/** Runs `command` with `sh -c`, its PATH led by curl's folder; resolves with its stdout. */
function runShell(command: string): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const curlDir = curlBinary().replace(/\/[^/]*$/, '');
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${curlDir}:${process.env.PATH}` } });
    const out: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout: Buffer.concat(out), stderr }); });
  });
}

describe('replay and copy as cURL', () => {
  let pki: TestPki;
  let upstream: Upstream;
  let proxy: ProxyProcess;
  const received: Received[] = [];
  const seenAt = (url: string) => received.filter((r) => r.url === url);

  const fetchVia = (url: string, opts: Parameters<typeof viaProxy>[3] = {}) => viaProxy(proxy.url, proxy.caPem, url, opts);
  const idOf = async (url: string, client = '127.0.0.1') => Number((await proxy.waitFor((l) => l.msg === 'exchange' && l.url === url && l.client === client)).id);

  before(async () => {
    pki = new TestPki();
    const leaf = pki.leaf({ names: [...HOSTS, '127.0.0.1'] });
    upstream = await startUpstream({
      cert: pki.chain(leaf), key: leaf.keyPem,
      // Every request's body is recorded as well; the usual routes answer.
      handle: (req) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) }));
        return false;
      },
    });
    proxy = await startProxy({ config: baseConfig(upstream.address, pki.rootFile) });
  });
  after(async () => {
    await proxy?.stop();
    await upstream?.close();
    pki?.cleanup();
  });

  const binary = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_x, i) => i)), Buffer.from(`'"\\%s %d $HOME \`id\` \n\r\0end`)]);
  const headers = { 'content-type': 'application/octet-stream', 'x-quote': `it's "quoted" $HOME \`id\` \\ %s`, 'x-empty': '' };

  it('replays a POST as a new exchange from client `replay`: the upstream sees it twice, same body and headers', async () => {
    const url = 'https://api.example.test/sha256?t=replay';
    const first = await fetchVia(url, { method: 'POST', body: binary, headers });
    assert.equal(first.status, 200);
    const id = await idOf(url);
    const r = await admin(proxy, 'POST', '/api/replay', { id });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok(Number.isInteger(r.json.id) && r.json.id > id);
    const line = await proxy.waitFor((l) => l.msg === 'exchange' && l.id === r.json.id);
    assert.equal(line.client, 'replay');
    assert.equal(line.url, url);
    assert.equal(line.status, 200);
    assert.equal(line.bytesIn, binary.length);
    // The upstream records a body at its end, a moment after answering.
    await pollUntil('the upstream to record both bodies', () => seenAt('/sha256?t=replay').length === 2, { ms: 5000 });
    const [a, b] = seenAt('/sha256?t=replay');
    assert.equal(b!.method, 'POST');
    assert.equal(sha256(b!.body), sha256(binary));
    assert.equal(b!.headers['x-quote'], headers['x-quote']);
    assert.deepEqual(b!.headers, a!.headers);
    // The replay is an exchange like any: listed with its client.
    const { json } = await admin(proxy, 'GET', '/api/exchanges?client=replay');
    assert.deepEqual(json.exchanges.map((x: { id: number }) => x.id), [r.json.id]);
  });

  it('replays a blocked exchange (200) and the new one is blocked again; 404 unknown; 409 body not kept; 400 bad input', async () => {
    const blocked = await fetchVia('https://evil.example.test/replay-blocked');
    assert.equal(blocked.status, 403);
    const id = await idOf('https://evil.example.test/replay-blocked');
    const r = await admin(proxy, 'POST', '/api/replay', { id });
    assert.equal(r.status, 200);
    const line = await proxy.waitFor((l) => l.msg === 'exchange' && l.id === r.json.id);
    assert.equal(line.outcome, 'blocked');
    assert.equal(line.status, 403);
    assert.equal(line.client, 'replay');
    assert.ok(proxy.violations().some((v) => v.rule === 'domain-not-allowed' && v.client === 'replay'));

    assert.equal((await admin(proxy, 'POST', '/api/replay', { id: 999_999 })).status, 404);
    assert.equal((await admin(proxy, 'POST', '/api/replay', { nope: 1 })).status, 400);
    assert.equal((await admin(proxy, 'POST', '/api/replay', 'not json')).status, 400);
    const big = Buffer.alloc(1024 * 1024 + 1, 0x61);
    assert.equal((await fetchVia('https://api.example.test/sha256?t=big', { method: 'POST', body: big })).status, 200);
    const bigId = await idOf('https://api.example.test/sha256?t=big');
    const conflict = await admin(proxy, 'POST', '/api/replay', { id: bigId });
    assert.equal(conflict.status, 409);
    assert.match(conflict.json.error, /not kept/);
    assert.equal((await fetch(`${proxy.adminUrl}/api/exchange?id=${bigId}&as=curl`)).status, 409);
    assert.equal((await fetch(`${proxy.adminUrl}/api/exchange?id=999999&as=curl`)).status, 404);
    assert.equal(seenAt('/sha256?t=big').length, 1);
  });

  for (const [name, body] of [['a binary body (printf | --data-binary @-)', binary], ['a text body with quotes (--data-binary \'…\')', Buffer.from(`{"name": "O'Brien \\"the\\" é", "cmd": "$(id) \`id\`"}`)]] as const) {
    it(`copy as cURL, ${name}: sh -c runs it through the proxy to the same answer; the upstream sees the same request`, async () => {
      const url = `https://api.example.test/sha256?t=curl-${body === binary ? 'bin' : 'text'}&q=%27x%27`;
      const path = new URL(url).pathname + new URL(url).search;
      const first = await fetchVia(url, { method: 'PUT', body, headers: { ...headers, 'content-type': body === binary ? 'application/octet-stream' : 'application/json' } });
      assert.equal(first.status, 200);
      const id = await idOf(url);
      const res = await fetch(`${proxy.adminUrl}/api/exchange?id=${id}&as=curl`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
      const command = await res.text();
      assert.equal(command.trim().split('\n').length, 1, 'one command line');
      assert.ok(command.includes(`--cacert '${proxy.caFile}'`), command);
      assert.ok(command.includes(`-x '${proxy.url}'`), command);
      assert.equal(command.includes('printf'), body === binary, command);
      const run = await runShell(command);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(sha256(run.stdout), first.sha256, `${run.stdout.toString()} vs ${first.body.toString()}`);
      await pollUntil(`the upstream to record both requests of ${path}`, () => received.filter((r) => r.url === path).length === 2, { ms: 5000 });
      const [a, b] = received.filter((r) => r.url === path);
      assert.equal(b!.method, 'PUT');
      assert.equal(sha256(b!.body), sha256(body));
      assert.deepEqual(b!.headers, a!.headers);
    });
  }
});

describe('shell quoting (table)', () => {
  it('single-quotes every argument and writes octal escapes printf reads back', async () => {
    const { printfOctal, shellQuote } = await import('../proxy/admin/curl.js');
    for (const s of [`plain`, `it's`, `'`, `''\\'`, `$HOME \`id\` "x" !`, '']) {
      const r = await runShell(`printf '%s' ${shellQuote(s)}`);
      assert.equal(r.stdout.toString(), s);
    }
    const bytes = Buffer.from(Array.from({ length: 256 }, (_x, i) => i));
    assert.equal(sha256((await runShell(`printf '${printfOctal(bytes)}'`)).stdout), sha256(bytes));
  });
});
