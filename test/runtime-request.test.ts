/**
 * `mgproxy/runtime`'s `request` through a real proxy to a real upstream, as a game's test would use
 * it: how data goes on the wire, what `res` holds, the task's listeners, abort, refusals, and the
 * defaults taken from the proxy's config (`GET /api/config`).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createRuntime, type Runtime } from '../proxy/runtime/index.js';
import { outcome } from './helpers/runtime-calls.js';
import { type RuntimeWorld, startRuntimeWorld } from './helpers/runtime-world.js';
import { patternSha256 } from './helpers/upstreams.js';

const API = 'https://api.example.test';
const REFERER = 'https://servicewechat.com/wx0123456789abcdef/0/page-frame.html';
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
const BOM = '\ufeff';

describe('mgproxy/runtime: request', () => {
  let w: RuntimeWorld;
  let wx: Runtime;
  const echo = (opts: Record<string, unknown>) => outcome<any>((cb) => wx.request({ url: `${API}/echo`, ...opts, ...cb }));
  before(async () => {
    // referer "check": the upstream sees the runtime's own Referer (the proxy would otherwise rewrite it).
    w = await startRuntimeWorld({ platform: 'wechat', referer: 'check' });
    // No platform, appid or version given: they come from the proxy's /api/config.
    wx = createRuntime({ proxy: w.proxy.url, ca: w.proxy.caPem, admin: w.proxy.adminUrl });
  });
  after(async () => { await w.close(); });

  it('GET: data joins the query as encodeURIComponent pairs; the platform Referer replaces the caller\'s; content-type defaults to JSON', async () => {
    const r = await outcome<any>((cb) => wx.request({
      url: `${API}/echo?v=1`, data: { q: 'a b&c', n: 3, ü: 'é' }, header: { Referer: 'https://evil.example/', 'X-Game': 'g' }, ...cb,
    }));
    assert.equal(r.ok, true);
    assert.equal(r.res.errMsg, 'request:ok');
    assert.equal(r.res.statusCode, 200);
    const seen = r.res.data;
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, `/echo?v=1&q=a%20b%26c&n=3&${encodeURIComponent('ü')}=${encodeURIComponent('é')}`);
    assert.equal(seen.headers.referer, REFERER);
    assert.equal(seen.headers['x-game'], 'g');
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.equal(seen.body, '');
    assert.deepEqual(w.proxy.violations().filter((v) => v.rule === 'referer-mismatch'), [], 'the proxy, checking, found the Referer right');
  });

  it('POST: objects as JSON, as pairs under x-www-form-urlencoded, strings and ArrayBuffers as they are', async () => {
    const json = await echo({ method: 'POST', data: { a: [1, 2], b: 'x' } });
    assert.equal(json.res.data.body, '{"a":[1,2],"b":"x"}');
    assert.equal(json.res.data.url, '/echo');
    const form = await echo({ method: 'PUT', data: { a: 'x y', b: '&' }, header: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.res.data.method, 'PUT');
    assert.equal(form.res.data.body, 'a=x%20y&b=%26');
    assert.equal(form.res.data.headers['content-type'], 'application/x-www-form-urlencoded');
    const text = await echo({ method: 'POST', data: 'raw=1&{"not":"touched"}', header: { 'content-type': 'text/plain' } });
    assert.equal(text.res.data.body, 'raw=1&{"not":"touched"}');
    const bytes = new Uint8Array(256).map((_, i) => i);
    const bin = await outcome<any>((cb) => wx.request({ url: `${API}/sha256`, method: 'POST', data: bytes.buffer, ...cb }));
    assert.deepEqual(bin.res.data, { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: 256 });
  });

  it('dataType json strips one BOM and parses; a body that does not parse stays the string; text and arraybuffer are left alone', async () => {
    const get = (body: string, opts: Record<string, unknown> = {}) =>
      outcome<any>((cb) => wx.request({ url: `${API}/raw?type=application/json&hex=${hex(body)}`, ...opts, ...cb }));
    assert.deepEqual((await get(`${BOM}{"level":3}`)).res.data, { level: 3 });
    assert.equal((await get('{"broken":')).res.data, '{"broken":');
    assert.equal((await get(`${BOM}${BOM}{"a":1}`)).res.data, `${BOM}{"a":1}`, 'only one BOM is stripped, then parsing fails');
    assert.equal((await get('')).res.data, '');
    assert.equal((await get(`${BOM}{"a":1}`, { dataType: 'text' })).res.data, `${BOM}{"a":1}`);
    const ab = await outcome<any>((cb) => wx.request({ url: `${API}/bytes/70000`, responseType: 'arraybuffer', ...cb }));
    assert.ok(ab.res.data instanceof ArrayBuffer);
    assert.equal(createHash('sha256').update(Buffer.from(ab.res.data)).digest('hex'), patternSha256(70000));
  });

  it('every HTTP status is a success, a real 403 included', async () => {
    for (const status of [201, 304, 403, 404, 500, 503]) {
      const r = await outcome<any>((cb) => wx.request({ url: `${API}/status/${status}`, ...cb }));
      assert.deepEqual([r.ok, r.res.statusCode, r.res.errMsg], [true, status, 'request:ok']);
    }
  });

  it('res.header keeps the names as received; cookies; profile; onHeadersReceived / offHeadersReceived', async () => {
    const heard: unknown[] = [];
    const removed: unknown[] = [];
    const r = await outcome<any, any>((cb) => wx.request({ url: `${API}/headers`, ...cb }), (task) => {
      task.onHeadersReceived((h: unknown) => heard.push(h));
      const gone = (h: unknown) => removed.push(h);
      task.onHeadersReceived(gone);
      task.offHeadersReceived(gone);
    });
    assert.equal(r.res.header['X-Game-Version'], '7');
    assert.equal(r.res.header['Content-Type'], 'application/json');
    assert.deepEqual(r.res.cookies, ['a=1; Path=/', 'b=2; HttpOnly']);
    assert.deepEqual(r.res.data, { ok: true });
    assert.equal(heard.length, 1);
    assert.deepEqual(heard[0], { header: r.res.header, statusCode: 200, cookies: r.res.cookies });
    assert.deepEqual(removed, []);
    const p = r.res.profile;
    assert.equal(p.protocol, 'http1.1');
    assert.deepEqual([p.queueStart, p.queueEnd], [0, 0], 'not queued');
    assert.ok(p.fetchStart > 0 && p.fetchStart <= p.responseStart && p.responseStart <= p.responseEnd, JSON.stringify(p));
    assert.ok(p.receivedBytedCount >= 11);
  });

  it('onChunkReceived with enableChunked gives each chunk as an ArrayBuffer; offChunkReceived() removes all', async () => {
    const chunks: string[] = [];
    const r = await outcome<any, any>((cb) => wx.request({ url: `${API}/chunks`, enableChunked: true, dataType: 'text', ...cb }), (task) => {
      task.onChunkReceived((c: { data: ArrayBuffer }) => { assert.ok(c.data instanceof ArrayBuffer); chunks.push(Buffer.from(c.data).toString()); });
    });
    assert.equal(chunks.join(''), 'chunk0;chunk1;chunk2;');
    assert.ok(chunks.length >= 2, 'more than one chunk, as they came');
    assert.equal(r.res.data, 'chunk0;chunk1;chunk2;');
    const none: string[] = [];
    await outcome<any, any>((cb) => wx.request({ url: `${API}/chunks`, enableChunked: true, ...cb }), (task) => {
      task.onChunkReceived(() => none.push('x'));
      task.offChunkReceived();
    });
    assert.deepEqual(none, []);
  });

  it('abort(): fail "request:fail abort", once, whether the call was in flight or not yet sent', async () => {
    let task: any;
    const r = outcome<any, any>((cb) => wx.request({ url: `${API}/hold/abort`, ...cb }), (t) => { task = t; });
    await w.heldCount('abort', 1);
    task.abort();
    task.abort();
    const done = await r;
    assert.deepEqual([done.ok, done.res.errMsg], [false, 'request:fail abort']);
    const early = await outcome<any, any>((cb) => wx.request({ url: `${API}/echo`, ...cb }), (t) => t.abort());
    assert.deepEqual([early.ok, early.res.errMsg], [false, 'request:fail abort']);
  });

  it('a refusal of the proxy (x-mgproxy-rule) is fail with its errMsg and errno; the upstream never sees it', async () => {
    const before = w.upstream.seen.length;
    const r = await outcome<any>((cb) => wx.request({ url: 'https://evil.example.test/track', ...cb }));
    assert.deepEqual([r.ok, r.res.errMsg, r.res.errno], [false, 'request:fail url not in domain list', 600002]);
    const refused = await outcome<any>((cb) => wx.request({ url: 'https://api.weixin.qq.com/sns', ...cb }));
    assert.deepEqual([refused.res.errMsg, refused.res.errno], ['request:fail url not in domain list', 600002], 'host-refused on wechat');
    assert.equal(w.upstream.seen.length, before);
  });

  it('redirects are followed, each hop through the proxy and its rules', async () => {
    const r = await outcome<any>((cb) => wx.request({ url: `${API}/redirect?to=/echo%3Fhop%3D2`, ...cb }));
    assert.deepEqual([r.ok, r.res.statusCode, r.res.data.url], [true, 200, '/echo?hop=2']);
    const out = await outcome<any>((cb) => wx.request({ url: `${API}/redirect?to=${encodeURIComponent('https://evil.example.test/x')}`, ...cb }));
    assert.deepEqual([out.ok, out.res.errMsg, out.res.errno], [false, 'request:fail url not in domain list', 600002]);
  });

  it('a URL the runtime cannot use fails (errno 600009, "invalid URL"), asynchronously, once', async () => {
    for (const url of ['not a url', 'ftp://api.example.test/x']) {
      const r = await outcome<any>((cb) => wx.request({ url, ...cb }));
      assert.equal(r.ok, false);
      assert.match(r.res.errMsg, /^request:fail /);
      assert.equal(r.res.errno, 600009);
    }
  });

  it('an upstream that resets the connection: the proxy\'s 502 x-mgproxy-error becomes Cronet\'s -101', async () => {
    const r = await outcome<any>((cb) => wx.request({ url: `${API}/reset`, ...cb }));
    assert.deepEqual([r.ok, r.res.errMsg, r.res.errno], [false, 'request:fail errcode:-101 cronet_error_code:-101 error_msg:net::ERR_CONNECTION_RESET', 600001]);
  });
});
