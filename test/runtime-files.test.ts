/**
 * `mgproxy/runtime`'s `uploadFile` and `downloadFile` through a real proxy to a real upstream: the
 * multipart parts the upstream received, the file written (by sha256), success for a 404, progress.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRuntime, type Runtime } from '../proxy/runtime/index.js';
import { tempDir } from './helpers/proxy.js';
import { outcome } from './helpers/runtime-calls.js';
import { type RuntimeWorld, startRuntimeWorld } from './helpers/runtime-world.js';
import { patternBytes, patternSha256 } from './helpers/upstreams.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('mgproxy/runtime: uploadFile and downloadFile', () => {
  let w: RuntimeWorld;
  let wx: Runtime;
  let dir: string;
  before(async () => {
    w = await startRuntimeWorld({ referer: 'check' });
    // Explicit platform, appid and version: no proxy config is read.
    wx = createRuntime({ proxy: w.proxy.url, ca: w.proxy.caPem, platform: 'tcsas', appid: 'wxfeed', version: '12' });
    dir = tempDir('mgproxy-runtime-files-');
  });
  after(async () => {
    await w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uploadFile: one multipart POST, formData fields then the file; res.data is the body as a string; progress to 100', async () => {
    const file = path.join(dir, 'save-slot.png');
    fs.writeFileSync(file, Buffer.concat([...patternBytes(150_000)]));
    const progress: number[] = [];
    const r = await outcome<any, any>((cb) => wx.uploadFile({
      url: 'https://upload.example.test/multipart', filePath: file, name: 'avatar', formData: { level: 3, who: 'p1' },
      header: { Referer: 'https://evil.example/', 'X-Game': 'g' }, ...cb,
    }), (task) => task.onProgressUpdate((p: { progress: number; totalBytesSent: number; totalBytesExpectedToSend: number }) => progress.push(p.progress)));
    assert.equal(r.ok, true, JSON.stringify(r.res));
    assert.equal(r.res.errMsg, 'uploadFile:ok');
    assert.equal(r.res.statusCode, 200);
    assert.equal(typeof r.res.data, 'string', 'a JSON answer stays a string');
    const seen = JSON.parse(r.res.data);
    assert.match(seen.contentType, /^multipart\/form-data; boundary=/);
    assert.deepEqual(seen.parts.map((p: any) => [p.name, p.filename, p.type, p.text]), [
      ['level', undefined, undefined, '3'], ['who', undefined, undefined, 'p1'], ['avatar', 'save-slot.png', 'image/png', ''],
    ]);
    assert.equal(seen.parts[2].sha256, patternSha256(150_000));
    assert.equal(seen.parts[2].bytes, 150_000);
    const up = w.upstream.seen.find((s) => s.url === '/multipart')!;
    assert.equal(up.method, 'POST');
    assert.equal(up.headers.referer, 'https://appservice.wx.com/wxfeed/12/page-frame.html');
    assert.equal(up.headers['x-game'], 'g');
    assert.equal(progress.at(-1), 100);
    assert.ok(progress.every((p, i) => i === 0 || p >= progress[i - 1]!), 'progress only grows');
  });

  it('uploadFile of a missing file fails; outside the list it fails with the proxy\'s errMsg', async () => {
    const missing = await outcome<any>((cb) => wx.uploadFile({ url: 'https://upload.example.test/multipart', filePath: path.join(dir, 'nope'), name: 'f', ...cb }));
    assert.equal(missing.ok, false);
    assert.match(missing.res.errMsg, /^uploadFile:fail /);
    const file = path.join(dir, 'small.txt');
    fs.writeFileSync(file, 'hello');
    const r = await outcome<any>((cb) => wx.uploadFile({ url: 'https://evil.example.test/up', filePath: file, name: 'f', ...cb }));
    assert.deepEqual([r.ok, r.res.errMsg, r.res.errno], [false, 'uploadFile:fail url not in domain list', 600002]);
  });

  it('downloadFile: the body in a new temporary file (tempFilePath), progress to 100', async () => {
    const progress: { progress: number; totalBytesWritten: number; totalBytesExpectedToWrite: number }[] = [];
    const r = await outcome<any, any>((cb) => wx.downloadFile({ url: 'https://cdn.example.test/bytes/300000', ...cb }), (task) => task.onProgressUpdate((p: any) => progress.push(p)));
    assert.equal(r.ok, true, JSON.stringify(r.res));
    assert.equal(r.res.errMsg, 'downloadFile:ok');
    assert.equal(r.res.statusCode, 200);
    assert.equal(r.res.filePath, undefined);
    assert.equal(sha(fs.readFileSync(r.res.tempFilePath)), patternSha256(300_000));
    assert.deepEqual(progress.at(-1), { progress: 100, totalBytesWritten: 300_000, totalBytesExpectedToWrite: 300_000 });
    fs.rmSync(r.res.tempFilePath);
  });

  it('downloadFile to filePath; a 404 is a success with its body in the file', async () => {
    const target = path.join(dir, 'level-9.bin');
    const r = await outcome<any>((cb) => wx.downloadFile({ url: 'https://cdn.example.test/bytes/1000', filePath: target, ...cb }));
    assert.deepEqual([r.ok, r.res.filePath, r.res.tempFilePath], [true, target, undefined]);
    assert.equal(sha(fs.readFileSync(target)), patternSha256(1000));
    const missing = await outcome<any>((cb) => wx.downloadFile({ url: 'https://cdn.example.test/no-such-level', ...cb }));
    assert.deepEqual([missing.ok, missing.res.statusCode, missing.res.errMsg], [true, 404, 'downloadFile:ok']);
    assert.equal(fs.readFileSync(missing.res.tempFilePath, 'utf8'), 'no such route');
    const up = w.upstream.seen.find((s) => s.url === '/bytes/1000')!;
    assert.equal(up.method, 'GET');
    assert.equal(up.headers.referer, 'https://appservice.wx.com/wxfeed/12/page-frame.html');
  });

  it('downloadFile abort(): fail "downloadFile:fail abort" and no temporary file left', async () => {
    let task: any;
    const r = outcome<any, any>((cb) => wx.downloadFile({ url: 'https://cdn.example.test/drip?ms=20000', ...cb }), (t) => { task = t; });
    let heard = false;
    task.onHeadersReceived(() => { heard = true; task.abort(); });
    const done = await r;
    assert.ok(heard);
    assert.deepEqual([done.ok, done.res.errMsg], [false, 'downloadFile:fail abort']);
  });
});
