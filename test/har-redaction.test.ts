/**
 * HAR redaction (docs/har.md): the HAR written by `--har` shows `[redacted]` for Cookie,
 * Set-Cookie, Authorization, Proxy-Authorization and the `--har-redact` / `har.redact` names, in
 * headers, cookies, queryString, the URL and the events alike, so no secret is anywhere in the
 * file; `--har-secrets keep` writes them as they were; the live `/api/exchange` stays unredacted.
 * Real clients through the real CLI, the HAR read as an importer would.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { viaProxy } from './helpers/clients.js';
import { admin, baseConfig, HOSTS } from './helpers/fixture.js';
import { header, type HarEntry, parseHar } from './helpers/har.js';
import { TestPki } from './helpers/pki.js';
import { type ProxyProcess, runCli, startProxy, tempDir } from './helpers/proxy.js';
import { startUpstream, type Upstream } from './helpers/upstreams.js';
import { HarRedactor } from '../proxy/reports/har-redact.js';

/** Every secret a request or response of the test carries; none may be in a redacted HAR. */
const SECRETS = {
  cookie: 'CookieSecret111', bearer: 'BearerSecret222', proxyAuth: 'ProxyAuthSecret333', apiKey: 'ApiKeySecret444',
  session: 'SessionSecret555', token: 'TokenSecret666', setCookie: 'SetCookieSecret777', blockedToken: 'BlockedToken888',
};

interface Setup { pki: TestPki; upstream: Upstream }

async function startSetup(): Promise<Setup> {
  const pki = new TestPki();
  const leaf = pki.leaf({ names: HOSTS });
  const upstream = await startUpstream({
    cert: pki.chain(leaf), key: leaf.keyPem,
    // A login answer that sets a session cookie and redirects with a token in the query.
    handle: (req, res) => {
      if (!req.url?.startsWith('/login')) return false;
      res.writeHead(302, { 'set-cookie': [`sid=${SECRETS.setCookie}; Path=/; HttpOnly`, 'theme=dark; Path=/'], location: `https://api.example.test/home?token=${SECRETS.token}&tab=1`, 'content-type': 'text/plain' });
      res.end('moved');
      return true;
    },
  });
  return { pki, upstream };
}

/** The requests of the test: a login (Set-Cookie), a request with every kind of secret, one blocked with a token in its URL. */
async function sendTraffic(proxy: ProxyProcess): Promise<void> {
  const headers = {
    cookie: `sid=${SECRETS.cookie}; lang=fr`, authorization: `Bearer ${SECRETS.bearer}`,
    'x-api-key': SECRETS.apiKey, 'X-Session': SECRETS.session, 'x-visible': 'shown-as-is',
  };
  const login = await viaProxy(proxy.url, proxy.caPem, 'https://api.example.test/login');
  assert.equal(login.status, 302);
  const ok = await viaProxy(proxy.url, proxy.caPem, `https://api.example.test/bytes/10?token=${SECRETS.token}&page=2`, { headers });
  assert.equal(ok.status, 200);
  const blocked = await viaProxy(proxy.url, proxy.caPem, `https://evil.example.test/track?TOKEN=${SECRETS.blockedToken}&event=start`, { headers: { 'proxy-authorization': `Basic ${SECRETS.proxyAuth}` } });
  assert.equal(blocked.status, 403);
}

async function harOf(proxy: ProxyProcess, file: string): Promise<{ text: string; entries: HarEntry[] }> {
  assert.equal(await proxy.stop(), 0);
  const text = fs.readFileSync(file, 'utf8');
  return { text, entries: parseHar(text).log.entries };
}

const byPath = (entries: HarEntry[], p: string) => entries.find((e) => new URL(e.request.url).pathname === p)!;
type Req = HarEntry['request'] & { cookies: { name: string; value: string }[]; queryString: { name: string; value: string }[] };
type Res = HarEntry['response'] & { cookies: { name: string; value: string }[]; redirectURL: string };

describe('HAR redaction by default', () => {
  let s: Setup;
  let proxy: ProxyProcess;
  let har: { text: string; entries: HarEntry[] };
  let detail: { status: number; json: any };
  before(async () => {
    s = await startSetup();
    const dir = tempDir();
    const file = path.join(dir, 'run.har');
    proxy = await startProxy({
      config: baseConfig(s.upstream.address, s.pki.rootFile, { har: { redact: ['X-Session'] } }),
      args: ['--har', file, '--har-redact', 'x-api-key,token'],
    });
    await sendTraffic(proxy);
    // The live exchange view, before the proxy stops: local, unredacted.
    const line = await proxy.waitFor((l) => l.msg === 'exchange' && String(l.url).includes('/bytes/10'));
    detail = await admin(proxy, 'GET', `/api/exchange?id=${String(line.id)}`);
    har = await harOf(proxy, file);
  });
  after(async () => { await s.upstream.close(); s.pki.cleanup(); });

  it('leaves no secret anywhere in the file', () => {
    for (const [what, secret] of Object.entries(SECRETS)) assert.ok(!har.text.includes(secret), `${what} (${secret}) is in the HAR`);
    assert.equal(har.entries.length, 3);
  });

  it('redacts the default headers and cookies, keeping their names', () => {
    const e = byPath(har.entries, '/bytes/10');
    const req = e.request as Req;
    assert.equal(header(req.headers, 'cookie'), '[redacted]');
    assert.equal(header(req.headers, 'authorization'), '[redacted]');
    assert.deepEqual(req.cookies, [{ name: 'sid', value: '[redacted]' }, { name: 'lang', value: '[redacted]' }]);
    assert.equal(header(req.headers, 'x-visible'), 'shown-as-is');
    const login = byPath(har.entries, '/login');
    const res = login.response as Res;
    assert.deepEqual(res.headers.filter((h) => h.name === 'set-cookie').map((h) => h.value), ['[redacted]', '[redacted]']);
    assert.deepEqual(res.cookies.map((c) => [c.name, c.value]), [['sid', '[redacted]'], ['theme', '[redacted]']]);
    const blocked = byPath(har.entries, '/track');
    assert.equal(header(blocked.request.headers, 'proxy-authorization'), '[redacted]');
  });

  it('redacts the named headers (CLI and config, any case) and query parameters in the URL and queryString', () => {
    const e = byPath(har.entries, '/bytes/10');
    const req = e.request as Req;
    assert.equal(header(req.headers, 'x-api-key'), '[redacted]');
    assert.equal(header(req.headers, 'x-session'), '[redacted]');
    assert.equal(req.url, 'https://api.example.test/bytes/10?token=[redacted]&page=2');
    assert.deepEqual(req.queryString, [{ name: 'token', value: '[redacted]' }, { name: 'page', value: '2' }]);
    const res = byPath(har.entries, '/login').response as Res;
    assert.equal(res.redirectURL, 'https://api.example.test/home?token=[redacted]&tab=1');
    assert.equal(header(res.headers, 'location'), 'https://api.example.test/home?token=[redacted]&tab=1');
  });

  it('redacts a named query parameter in the events of the entry too', () => {
    const blocked = byPath(har.entries, '/track');
    assert.equal(blocked.request.url, 'https://evil.example.test/track?TOKEN=[redacted]&event=start');
    const v = blocked._mgproxy.violations[0]!;
    assert.equal(v.rule, 'domain-not-allowed');
    assert.equal(v.url, 'https://evil.example.test/track?TOKEN=[redacted]&event=start');
  });

  it('keeps /api/exchange unredacted (the live view is local)', () => {
    assert.equal(detail.status, 200);
    const headers = Object.fromEntries((detail.json.requestHeaders as [string, string][]).map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal(headers.cookie, `sid=${SECRETS.cookie}; lang=fr`);
    assert.equal(headers['x-api-key'], SECRETS.apiKey);
  });
});

describe('HAR with --har-secrets keep', () => {
  let s: Setup;
  let har: { text: string; entries: HarEntry[] };
  before(async () => {
    s = await startSetup();
    const file = path.join(tempDir(), 'kept.har');
    const proxy = await startProxy({
      config: baseConfig(s.upstream.address, s.pki.rootFile, { har: { redact: ['X-Session'] } }),
      args: ['--har', file, '--har-redact', 'x-api-key,token', '--har-secrets', 'keep'],
    });
    await sendTraffic(proxy);
    await proxy.waitFor((l) => l.msg === 'exchange' && String(l.url).includes('/track'));
    har = await harOf(proxy, file);
  });
  after(async () => { await s.upstream.close(); s.pki.cleanup(); });

  it('writes every value as it was', () => {
    for (const [what, secret] of Object.entries(SECRETS)) assert.ok(har.text.includes(secret), `${what} is kept`);
    const req = byPath(har.entries, '/bytes/10').request as Req;
    assert.equal(header(req.headers, 'cookie'), `sid=${SECRETS.cookie}; lang=fr`);
    assert.equal(req.url, `https://api.example.test/bytes/10?token=${SECRETS.token}&page=2`);
    assert.deepEqual(req.cookies[0], { name: 'sid', value: SECRETS.cookie });
    assert.ok(!har.text.includes('[redacted]'));
  });

  it('config har.secrets "keep" does the same, and --har-secrets redact wins over it', async () => {
    const file = path.join(tempDir(), 'config-keep.har');
    const kept = await startProxy({ config: baseConfig(s.upstream.address, s.pki.rootFile, { har: { secrets: 'keep' } }), args: ['--har', file] });
    await viaProxy(kept.url, kept.caPem, 'https://api.example.test/bytes/1', { headers: { cookie: `sid=${SECRETS.cookie}` } });
    assert.ok((await harOf(kept, file)).text.includes(SECRETS.cookie));
    const file2 = path.join(tempDir(), 'cli-redact.har');
    const redacted = await startProxy({ config: baseConfig(s.upstream.address, s.pki.rootFile, { har: { secrets: 'keep' } }), args: ['--har', file2, '--har-secrets', 'redact'] });
    await viaProxy(redacted.url, redacted.caPem, 'https://api.example.test/bytes/1', { headers: { cookie: `sid=${SECRETS.cookie}` } });
    assert.ok(!(await harOf(redacted, file2)).text.includes(SECRETS.cookie));
  });
});

describe('HAR redaction options refused', () => {
  it('a bad --har-secrets or --har-redact is one line and exit 2', async () => {
    for (const args of [['--har-secrets', 'maybe'], ['--har-redact', 'x-key,bad name'], ['--har-secrets', 'keep', '--har-secrets', 'keep']]) {
      const r = await runCli(['start', '--port', '0', '--ca-dir', path.join(tempDir(), 'ca'), ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^mgproxy: --har-(secrets|redact)/);
    }
  });

  it('bad har.* config values are config-schema errors with their path', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'mgproxy.config.json');
    fs.writeFileSync(file, JSON.stringify({ har: { secrets: 'maybe', redact: ['ok', 'two words', 3], extra: true } }));
    const r = await runCli(['check-config', '--config', file]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const lines = `${r.stdout}${r.stderr}`.trim().split('\n');
    for (const p of ['har.secrets', 'har.redact[1]', 'har.redact[2]', 'har.extra']) assert.ok(lines.some((l) => l.startsWith(`error config-schema ${p} `)), `${p} in\n${lines.join('\n')}`);
  });
});

describe('HarRedactor on its own', () => {
  it('redacts encoded names and values in a URL, leaves the rest byte for byte, and scrubs free text', () => {
    const entry = {
      request: { url: 'https://a.test/p?x=1&Api%5FKey=s%2Fecret%3D%3D&y=%E2%9C%93#frag', headers: [], cookies: [], queryString: [{ name: 'Api_Key', value: 's/ecret==' }] },
      response: { headers: [], cookies: [], redirectURL: '' },
      _mgproxy: {
        violations: [{ url: 'https://a.test/p?api_key=s%2Fecret%3D%3D', message: 'saw s/ecret== in https://a.test/p?api_key=s%2Fecret%3D%3D' }],
        mapped: { type: 'remote', to: 'https://staging.a.test/p?api_key=s%2Fecret%3D%3D' },
      },
    };
    new HarRedactor(['API_KEY']).redact(entry);
    assert.equal(entry.request.url, 'https://a.test/p?x=1&Api%5FKey=[redacted]&y=%E2%9C%93#frag');
    assert.deepEqual(entry.request.queryString, [{ name: 'Api_Key', value: '[redacted]' }]);
    assert.deepEqual(entry._mgproxy, {
      violations: [{ url: 'https://a.test/p?api_key=[redacted]', message: 'saw [redacted] in https://a.test/p?api_key=[redacted]' }],
      mapped: { type: 'remote', to: 'https://staging.a.test/p?api_key=[redacted]' },
    });
  });
});
