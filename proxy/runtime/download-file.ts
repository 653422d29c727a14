/**
 * `downloadFile` (https://developers.weixin.qq.com/minigame/dev/api/network/download/wx.downloadFile.html):
 * a GET whose body is streamed to `filePath` or to a new temporary file (`tempFilePath`); any HTTP
 * status is a success ("只要服务器有响应数据，就会把响应内容写入文件并进入 success 回调").
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Listeners, Settle } from './callbacks.js';
import { type Core, outgoingHeaders } from './core.js';
import { runHttp } from './http-call.js';
import type { DownloadFileOptions, DownloadFileSuccess, DownloadProgress, DownloadTask, FailResult, HeadersReceived } from './types.js';
import { badUrlFailure, callUrl } from './errors.js';

let tempDir: string | undefined;
/** One folder per process for the temporary files (the device's `wxfile://tmp_…`). */
function newTempFile(url: URL): string {
  if (tempDir === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgproxy-runtime-'));
    tempDir = dir;
    // Temporary files live as long as the process, as a device's last as long as the game.
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  const ext = path.extname(url.pathname).slice(0, 16);
  return path.join(tempDir!, `tmp_${crypto.randomBytes(8).toString('hex')}${ext}`);
}

export function downloadFile(core: Core, options: DownloadFileOptions): DownloadTask {
  const o = options ?? ({} as DownloadFileOptions);
  const settle = new Settle<DownloadFileSuccess>(o);
  const onHeaders = new Listeners<HeadersReceived>();
  const onProgress = new Listeners<DownloadProgress>();
  let url: URL;
  try {
    url = callUrl(o.url);
  } catch (err) {
    settle.fail(badUrlFailure('downloadFile', err));
    return { abort() {}, onProgressUpdate() {}, offProgressUpdate() {}, onHeadersReceived() {}, offHeadersReceived() {} };
  }
  const target = o.filePath !== undefined ? path.resolve(String(o.filePath)) : newTempFile(url);
  let out: fs.WriteStream | undefined;
  let expected = 0;
  let written = 0;
  let outError: Error | undefined;
  const handle = runHttp(core, settle, {
    api: 'downloadFile', url, method: 'GET', timeout: o.timeout,
    headers: (s) => outgoingHeaders(s, o.header),
  }, {
    onHeaders: (statusCode, header, cookies) => {
      const len = Object.entries(header).find(([k]) => k.toLowerCase() === 'content-length')?.[1];
      expected = len !== undefined && /^\d+$/.test(len) ? Number(len) : 0;
      out = fs.createWriteStream(target);
      out.on('error', (err) => { outError = err; });
      onHeaders.emit({ header, statusCode, cookies });
    },
    onData: (chunk, ctl) => {
      written += chunk.length;
      // Backpressure: the body waits while the disk is behind.
      if (out && !out.write(chunk)) { ctl.pause(); out.once('drain', () => ctl.resume()); }
      onProgress.emit({ progress: expected > 0 ? Math.floor((written / expected) * 100) : 0, totalBytesWritten: written, totalBytesExpectedToWrite: expected });
    },
    onEnd: (statusCode, _header, _cookies, profile) => new Promise<DownloadFileSuccess>((resolve, reject) => {
      const done = () => {
        // errno 603300 "save error" (the platform's error code list).
        if (outError) { reject({ errMsg: `downloadFile:fail ${outError.message}`, errno: 603300 } satisfies FailResult); return; }
        if (expected === 0) onProgress.emit({ progress: 100, totalBytesWritten: written, totalBytesExpectedToWrite: written });
        resolve({ ...(o.filePath !== undefined ? { filePath: target } : { tempFilePath: target }), statusCode, profile, errMsg: 'downloadFile:ok' });
      };
      if (!out) { fs.writeFile(target, Buffer.alloc(0), (err) => { outError ??= err ?? undefined; done(); }); return; }
      out.end(done);
    }),
    onFail: () => {
      if (!out) return;
      out.destroy();
      if (o.filePath === undefined) fs.rm(target, { force: true }, () => undefined);
    },
  });
  return {
    abort: () => handle.abort(),
    onProgressUpdate: (fn) => onProgress.add(fn),
    offProgressUpdate: (fn) => onProgress.remove(fn),
    onHeadersReceived: (fn) => onHeaders.add(fn),
    offHeadersReceived: (fn) => onHeaders.remove(fn),
  };
}
