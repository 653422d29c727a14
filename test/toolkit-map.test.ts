/**
 * Map rules (docs/toolkit.md "Map rules") on real sockets: `local` (a file, a folder, a missing
 * file, `..` escapes raw and encoded), `remote` (to a second upstream that counts what it sees),
 * `respond` (a body and a body file); a mapped URL on a host outside the lists is still blocked and
 * its map target never contacted; the exchange line, the violation events, `/api/exchanges` and the
 * HAR carry `mapped`; `POST /api/map` validation with the problem's path, the old list kept.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { curl, viaProxy } from './helpers/clients.js';
import { admin, baseConfig, HOSTS } from './helpers/fixture.js';
import { parseHar } from './helpers/har.js';
import { TestPki } from './helpers/pki.js';
import { type LogLine, type ProxyProcess, startProxy, tempDir } from './helpers/proxy.js';
import { patternSha256, sha256, startUpstream, type Upstream } from './helpers/upstreams.js';

const MiB = 1024 * 1024;
const HUGE = 256 * MiB;
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

describe('map rules', () => {
  let pki: TestPki;
  let game: Upstream;
  let staging: Upstream;
  let proxy: ProxyProcess;
  const files = tempDir('mgproxy-map-');
  const assets = path.join(files, 'assets');
  const png = crypto.randomBytes(300 * 1024 + 7);
  const script = Buffer.from('console.log("mapped");\n');
  const json = Buffer.from('{"level": 2, "name": "é"}');
  const harFile = path.join(files, 'out.har');
  let har: ReturnType<typeof parseHar> | undefined;

  const get = (url: string, opts: Parameters<typeof viaProxy>[3] = {}) => viaProxy(proxy.url, proxy.caPem, url, opts);
  /** The exchange line of `url` (each test's URL is its own). */
  const lineOf = (url: string): Promise<LogLine> => proxy.waitFor((l) => l.msg === 'exchange' && l.url === url);

  before(async () => {
    fs.mkdirSync(path.join(assets, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(files, 'logo.png'), png);
    fs.writeFileSync(path.join(assets, 'main.js'), script);
    fs.writeFileSync(path.join(assets, 'big.png'), png);
    fs.writeFileSync(path.join(assets, 'sub', 'level 2.json'), json);
    fs.writeFileSync(path.join(files, 'secret.txt'), 'not for the game');
    fs.writeFileSync(path.join(files, 'mock.json'), json);
    // 256 MiB of zeros, sparse: made at once, read back as zeros.
    fs.closeSync(fs.openSync(path.join(files, 'huge.bin'), 'w'));
    fs.truncateSync(path.join(files, 'huge.bin'), HUGE);
    pki = new TestPki();
    const leaf = pki.leaf({ names: [...HOSTS, '127.0.0.1'] });
    game = await startUpstream({ cert: pki.chain(leaf), key: leaf.keyPem });
    const stagingLeaf = pki.leaf({ names: ['staging.example.test'] });
    staging = await startUpstream({ cert: pki.chain(stagingLeaf), key: stagingLeaf.keyPem });
    const config = baseConfig(game.address, pki.rootFile) as ReturnType<typeof baseConfig> & { upstream: { hosts: Record<string, string> } };
    config.upstream.hosts['staging.example.test'] = staging.address;
    // Routed to the staging upstream, whose certificate does not name it.
    config.upstream.hosts['wrong.example.test'] = staging.address;
    proxy = await startProxy({
      args: ['--har', harFile],
      config: {
        ...config,
        map: [
          { url: 'https://cdn.example.test/logo.png', local: path.join(files, 'logo.png') },
          { url: 'https://cdn.example.test/assets/*', local: `${assets}/` },
          // An existing directory without the trailing `/` is a folder too.
          { url: 'https://cdn.example.test/plain/*', local: assets },
          { url: 'https://cdn.example.test/gone.bin', local: path.join(files, 'gone.bin') },
          { url: 'https://cdn.example.test/huge.bin', local: path.join(files, 'huge.bin') },
          { url: 'https://api.example.test/staging/*', remote: 'https://staging.example.test/' },
          { url: 'https://evil.example.test/*', remote: 'https://staging.example.test/' },
          { url: 'https://api.example.test/badtls/*', remote: 'https://wrong.example.test/' },
          { url: 'https://api.example.test/mock/teapot?*', respond: { status: 418, headers: { 'X-Mock': 'yes "quoted"', 'content-type': 'application/json' }, body: '{"ok":true}' } },
          { url: 'https://api.example.test/mock/file', respond: { status: 201, bodyFile: path.join(files, 'mock.json') } },
        ],
      },
    });
  });
  after(async () => {
    await proxy?.stop();
    await game?.close();
    await staging?.close();
    pki?.cleanup();
    fs.rmSync(files, { recursive: true, force: true });
  });

  it('local: answers a file byte for byte, content-type from its extension, and the upstream never sees it', async () => {
    const r = await get('https://cdn.example.test/logo.png');
    assert.equal(r.status, 200);
    assert.equal(r.sha256, sha256(png));
    assert.equal(r.headers['content-type'], 'image/png');
    assert.equal(r.headers['content-length'], String(png.length));
    const line = await lineOf('https://cdn.example.test/logo.png');
    assert.deepEqual(line.mapped, { type: 'local', to: path.join(files, 'logo.png') });
    assert.equal(line.bytesOut, png.length);
    assert.equal(game.seen.filter((s) => s.url === '/logo.png').length, 0);
  });

  it('local: streams a 256 MiB file byte-exact without the proxy growing by it', { skip: !fs.existsSync('/proc/self/status') && 'needs /proc' }, async (t) => {
    const idle = rssOf(proxy.child.pid!);
    const t0 = performance.now();
    let peak = 0;
    const timer = setInterval(() => { peak = Math.max(peak, rssOf(proxy.child.pid!)); }, 50);
    const r = await get('https://cdn.example.test/huge.bin', { keepBody: false, timeoutMs: 120_000 });
    clearInterval(timer);
    t.diagnostic(`256 MiB in ${Math.round(performance.now() - t0)} ms; proxy RSS +${((peak - idle) / MiB).toFixed(1)} MiB at its peak`);
    const zeros = crypto.createHash('sha256');
    const block = Buffer.alloc(MiB);
    for (let i = 0; i < HUGE / MiB; i++) zeros.update(block);
    assert.equal(r.sha256, zeros.digest('hex'));
    // The bound of test/streaming-memory.test.ts: a proxy that read the file whole would grow by 256 MiB.
    assert.ok(peak - idle < 100 * MiB, `RSS grew by ${((peak - idle) / MiB).toFixed(1)} MiB`);
  });

  it('local: a folder gets the part the last * matched, query left out, percent-decoded', async () => {
    const a = await get('https://cdn.example.test/assets/main.js?v=3');
    assert.equal(a.status, 200);
    assert.equal(a.sha256, sha256(script));
    assert.match(String(a.headers['content-type']), /^text\/javascript/);
    const b = await get('https://cdn.example.test/plain/sub/level%202.json');
    assert.equal(b.status, 200);
    assert.equal(b.sha256, sha256(json));
    assert.match(String(b.headers['content-type']), /^application\/json/);
    assert.deepEqual((await lineOf('https://cdn.example.test/plain/sub/level%202.json')).mapped, { type: 'local', to: path.join(assets, 'sub', 'level 2.json') });
  });

  it('local: a missing file is 404 from the proxy', async () => {
    for (const url of ['https://cdn.example.test/assets/none.js', 'https://cdn.example.test/gone.bin']) {
      const r = await get(url);
      assert.equal(r.status, 404, url);
      assert.match(r.json<{ error: string }>().error, /ENOENT|not a file/);
    }
    assert.equal(game.seen.filter((s) => s.url.includes('none.js') || s.url.includes('gone.bin')).length, 0);
  });

  it('local: `..` segments, raw or percent-encoded, never leave the folder (404)', async () => {
    for (const p of ['../secret.txt', '%2e%2e/secret.txt', '.%2E/secret.txt', 'sub/..%2f..%2fsecret.txt', 'sub/%2e%2e/%2e%2e/secret.txt']) {
      // curl --path-as-is sends the path exactly as written (no dot-segment removal).
      const r = await curl(['-x', proxy.url, '--cacert', proxy.caFile, '--path-as-is', '-o', '-', '-w', '\n%{http_code}', `https://cdn.example.test/assets/${p}`]);
      const out = r.stdout.toString();
      assert.match(out, /\n404$/, `${p}: ${out}`);
      assert.doesNotMatch(out, /not for the game/);
    }
  });

  it('remote: forwards to the new host, byte for byte, with its Host; the game upstream sees nothing', async () => {
    const before = game.seen.length;
    const r = await get('https://api.example.test/staging/bytes/200000?x=1');
    assert.equal(r.status, 200);
    assert.equal(r.sha256, patternSha256(200000));
    const seen = staging.seen.find((s) => s.url === '/bytes/200000?x=1');
    assert.ok(seen, 'the staging upstream saw the request at its new path');
    assert.equal(seen.headers.host, 'staging.example.test');
    assert.equal(game.seen.length, before);
    const line = await lineOf('https://api.example.test/staging/bytes/200000?x=1');
    assert.deepEqual(line.mapped, { type: 'remote', to: 'https://staging.example.test/bytes/200000?x=1' });
  });

  it('remote: the new upstream is verified as any other (a certificate for another name is 502 upstream-tls)', async () => {
    const seen = staging.seen.length;
    const r = await get('https://api.example.test/badtls/bytes/10');
    assert.equal(r.status, 502);
    assert.equal(r.headers['x-mgproxy-error'], 'upstream-tls');
    assert.match(r.json<{ errMsg: string }>().errMsg, /^request:fail ssl hand shake error$/);
    assert.equal(staging.seen.length, seen, 'no request went over the unverified connection');
    assert.deepEqual((await lineOf('https://api.example.test/badtls/bytes/10')).mapped, { type: 'remote', to: 'https://wrong.example.test/bytes/10' });
  });

  it('respond: status, headers and body; and a body file', async () => {
    const r = await get('https://api.example.test/mock/teapot?id=7');
    assert.equal(r.status, 418);
    assert.equal(r.headers['x-mock'], 'yes "quoted"');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.body.toString(), '{"ok":true}');
    const f = await get('https://api.example.test/mock/file', { method: 'POST', body: 'ignored upload' });
    assert.equal(f.status, 201);
    assert.equal(f.sha256, sha256(json));
    assert.match(String(f.headers['content-type']), /^application\/json/);
    const line = await lineOf('https://api.example.test/mock/file');
    assert.deepEqual(line.mapped, { type: 'respond', to: 'respond' });
    assert.equal(line.bytesIn, 'ignored upload'.length);
    assert.equal(game.seen.filter((s) => s.url.startsWith('/mock')).length, 0);
    // A 4xx is an http-error-status event of a mapped exchange: the event carries `mapped`.
    const v = await proxy.waitFor((l) => l.msg === 'violation' && l.rule === 'http-error-status' && l.url === 'https://api.example.test/mock/teapot?id=7');
    assert.deepEqual(v.mapped, { type: 'respond', to: 'respond' });
  });

  it('a mapped URL on a host outside the lists is still blocked, and the map target never contacted', async () => {
    const seen = staging.seen.length, connections = staging.tcpConnections;
    const r = await get('https://evil.example.test/bytes/10');
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-mgproxy-rule'], 'domain-not-allowed');
    const line = await lineOf('https://evil.example.test/bytes/10');
    assert.equal(line.outcome, 'blocked');
    assert.equal(line.mapped, undefined);
    assert.equal(staging.seen.length, seen);
    assert.equal(staging.tcpConnections, connections);
  });

  it('network conditions apply to mapped exchanges: latency before the head, the rate on the body', async () => {
    const set = await admin(proxy, 'POST', '/api/network', { default: 'none', rules: [{ host: 'cdn.example.test', custom: { latencyMs: 400, downKbps: 4000 } }] });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    try {
      const t0 = performance.now();
      const r = await get('https://cdn.example.test/assets/big.png?shaped=1');
      const ms = performance.now() - t0;
      assert.equal(r.sha256, sha256(png));
      // 400 ms of latency plus ~300 KiB at 4000 kbps (~620 ms): at least 900 ms however fast the
      // machine; no upper bound, as a loaded machine only makes it slower.
      assert.ok(ms >= 900, `took ${Math.round(ms)} ms`);
      const line = await lineOf('https://cdn.example.test/assets/big.png?shaped=1');
      assert.equal(line.network, 'custom');
      assert.equal((line.mapped as { type: string }).type, 'local');
    } finally {
      await admin(proxy, 'POST', '/api/network', { default: 'none', rules: [] });
    }
  });

  it('/api/exchanges shows `mapped`, the game URL kept', async () => {
    const { json: body } = await admin(proxy, 'GET', '/api/exchanges');
    const x = (body.exchanges as { url: string; mapped?: unknown }[]).find((e) => e.url === 'https://api.example.test/staging/bytes/200000?x=1');
    assert.deepEqual(x?.mapped, { type: 'remote', to: 'https://staging.example.test/bytes/200000?x=1' });
  });

  it('GET /api/map gives the list; POST /api/map replaces it, or answers 400 with the path and keeps it', async () => {
    const { status, json: list } = await admin(proxy, 'GET', '/api/map');
    assert.equal(status, 200);
    assert.equal((list as unknown[]).length, 10);
    for (const [bad, error] of [
      [[{ url: 'https://a.test/*', local: '/x' }, { url: 'https://b.test/' }], /^map\[1\]\.local: one of "local", "remote" or "respond" is needed$/],
      [[{ url: 'https://a.test/*', remote: 'ftp://x' }], /^map\[0\]\.remote: must be an http/],
      [[{ url: 'https://a.test/', respond: { status: 99 } }], /^map\[0\]\.respond\.status: /],
      [[{ url: 'https://a.test/', respond: { bodyFile: 'no-such-file.json' } }], /^map\[0\]\.respond\.bodyFile: .*no-such-file\.json is not a readable file$/],
      [[{ url: 'a.test', local: '/x' }], /^map\[0\]\.url: must start with/],
      [{ url: 'x' }, /^map: must be a list/],
    ] as const) {
      const r = await admin(proxy, 'POST', '/api/map', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.match(r.json.error, error);
    }
    assert.deepEqual((await admin(proxy, 'GET', '/api/map')).json, list, 'the old list stays');
    assert.equal((await get('https://cdn.example.test/logo.png')).sha256, sha256(png));
    // Relative paths are the config file's folder's.
    fs.mkdirSync(path.join(proxy.dir, 'rel'), { recursive: true });
    fs.writeFileSync(path.join(proxy.dir, 'rel', 'x.txt'), 'relative');
    const next = [{ url: 'https://cdn.example.test/rel/*', local: 'rel/' }];
    const ok = await admin(proxy, 'POST', '/api/map', next);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, next);
    const r = await get('https://cdn.example.test/rel/x.txt');
    assert.equal(r.body.toString(), 'relative');
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    // The old rules are gone: the file goes to the upstream now (which has no such route).
    assert.equal((await get('https://cdn.example.test/logo.png')).status, 404);
    assert.ok(game.seen.some((s) => s.url === '/logo.png'));
  });

  it('the HAR entries carry _mgproxy.mapped, their url the game\'s', async () => {
    await proxy.stop();
    har = parseHar(fs.readFileSync(harFile, 'utf8'));
    const entry = (url: string) => har!.log.entries.find((e) => e.request.url === url)! as unknown as { _mgproxy: { mapped?: unknown }; response: { status: number } };
    assert.deepEqual(entry('https://cdn.example.test/assets/main.js?v=3')._mgproxy.mapped, { type: 'local', to: path.join(assets, 'main.js') });
    assert.deepEqual(entry('https://api.example.test/staging/bytes/200000?x=1')._mgproxy.mapped, { type: 'remote', to: 'https://staging.example.test/bytes/200000?x=1' });
    assert.deepEqual(entry('https://api.example.test/mock/teapot?id=7')._mgproxy.mapped, { type: 'respond', to: 'respond' });
    assert.equal(entry('https://evil.example.test/bytes/10')._mgproxy.mapped, undefined);
  });
});

describe('map rules in the config file', () => {
  it('refuses an invalid entry at start with its path', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify({ map: [{ url: 'https://a.test/*', local: 'x/' }, { url: 'https://a.test/', respond: { bodyFile: 'missing.json' } }] }));
    const { runCli } = await import('./helpers/proxy.js');
    const r = await runCli(['check-config', '--config', file]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /map\[1\]\.respond\.bodyFile .*missing\.json is not a readable file/);
  });
});

describe('map patterns and folder paths (tables)', () => {
  it('matches the whole URL, query included; the last * takes the longest tail; the first entry wins', async () => {
    const { compileMap, matchMap } = await import('../config/map.js');
    const list = compileMap([
      { url: 'https://cdn.test/a/*/b/*', local: '/x/' },
      { url: 'https://cdn.test/exact', remote: 'https://r.test/' },
      { url: 'https://cdn.test/*', remote: 'https://r.test/' },
      { url: 'https://never.test/*', remote: 'https://r.test/' },
    ], '/');
    const cases: [string, number | undefined, string][] = [
      ['https://cdn.test/a/1/b/2/b/3?q=1', 0, '2/b/3?q=1'],
      ['https://cdn.test/exact', 1, ''],
      ['https://cdn.test/exact?x', 2, 'exact?x'],
      ['https://cdn.test.evil/x', undefined, ''],
      ['http://cdn.test/x', undefined, ''],
      ['https://cdn.test/a.b+c(d)[e]$', 2, 'a.b+c(d)[e]$'],
    ];
    for (const [url, index, tail] of cases) {
      const hit = matchMap(list, url);
      assert.equal(hit === undefined ? undefined : list.indexOf(hit.rule), index, url);
      if (hit) assert.equal(hit.tail, tail, url);
    }
  });

  it('keeps a folder\'s files inside it', async () => {
    const { fileUnder } = await import('../proxy/engine/map/local.js');
    const cases: [string, string | undefined][] = [
      ['a/b.js?v=1', '/srv/f/a/b.js'], ['a%20b.js', '/srv/f/a b.js'], ['./a//b.js', '/srv/f/a/b.js'],
      ['../x', undefined], ['a/../../x', undefined], ['%2e%2e/x', undefined], ['%2E%2e/x', undefined], ['a%2f..%2f..%2fx', undefined],
      ['..%5cx', undefined], ['a%00b', undefined], ['%zz', undefined], ['', undefined],
    ];
    for (const [tail, want] of cases) assert.equal(fileUnder('/srv/f', tail), want, tail);
  });
});
