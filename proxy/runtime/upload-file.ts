/**
 * `uploadFile` (https://developers.weixin.qq.com/minigame/dev/api/network/upload/wx.uploadFile.html):
 * one multipart/form-data POST with the `formData` fields and the file, streamed from disk;
 * `res.data` is the answer's body as a string, whatever its type.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Listeners, Settle } from './callbacks.js';
import { type Core, outgoingHeaders } from './core.js';
import { runHttp } from './http-call.js';
import type { HeadersReceived, UploadFileOptions, UploadFileSuccess, UploadProgress, UploadTask } from './types.js';
import { badUrlFailure, callUrl } from './errors.js';

/** A few types by extension, for the file part; anything else is application/octet-stream. */
const TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp',
  '.json': 'application/json', '.txt': 'text/plain', '.mp3': 'audio/mpeg', '.mp4': 'video/mp4',
};

/** A quoted multipart parameter (RFC 7578 §4.2: quotes and line breaks percent-encoded, as browsers do). */
const quoted = (s: string) => `"${s.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"`;

function fieldText(v: unknown): string {
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

export function uploadFile(core: Core, options: UploadFileOptions): UploadTask {
  const o = options ?? ({} as UploadFileOptions);
  const settle = new Settle<UploadFileSuccess>(o);
  const onHeaders = new Listeners<HeadersReceived>();
  const onProgress = new Listeners<UploadProgress>();
  const none: UploadTask = { abort() {}, onProgressUpdate() {}, offProgressUpdate() {}, onHeadersReceived() {}, offHeadersReceived() {} };
  let url: URL;
  let size: number;
  try {
    url = callUrl(o.url);
  } catch (err) {
    settle.fail(badUrlFailure('uploadFile', err));
    return none;
  }
  try {
    const st = fs.statSync(String(o.filePath));
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    settle.fail({ errMsg: `uploadFile:fail file not found: ${o.filePath}` });
    return none;
  }
  const boundary = `----MgproxyFormBoundary${crypto.randomBytes(12).toString('hex')}`;
  const fields = Object.entries(o.formData ?? {}).filter(([, v]) => v !== undefined).map(([k, v]) =>
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name=${quoted(k)}\r\n\r\n${fieldText(v)}\r\n`));
  const filePath = String(o.filePath);
  const fileHead = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name=${quoted(String(o.name ?? 'file'))}; filename=${quoted(path.basename(filePath))}\r\n`
    + `content-type: ${TYPES[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream'}\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const total = fields.reduce((n, b) => n + b.length, 0) + fileHead.length + size + tail.length;
  let stream: fs.ReadStream | undefined;

  async function* parts(): AsyncGenerator<Buffer> {
    let sent = 0;
    const progressed = (n: number) => {
      sent += n;
      onProgress.emit({ progress: Math.floor((sent / total) * 100), totalBytesSent: sent, totalBytesExpectedToSend: total });
    };
    for (const f of fields) { yield f; progressed(f.length); }
    yield fileHead;
    progressed(fileHead.length);
    stream = fs.createReadStream(filePath);
    for await (const chunk of stream) { yield chunk as Buffer; progressed((chunk as Buffer).length); }
    yield tail;
    progressed(tail.length);
  }

  const chunks: Buffer[] = [];
  const handle = runHttp(core, settle, {
    api: 'uploadFile', url, method: 'POST', timeout: o.timeout,
    headers: (s) => ({
      ...outgoingHeaders(s, Object.fromEntries(Object.entries(o.header ?? {}).filter(([k]) => !/^content-(type|length)$/i.test(k)))),
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(total),
    }),
    body: () => Readable.from(parts(), { objectMode: false }),
  }, {
    onHeaders: (statusCode, header, cookies) => onHeaders.emit({ header, statusCode, cookies }),
    onData: (chunk) => { chunks.push(chunk); },
    onEnd: (statusCode, _header, _cookies, profile) => {
      profile.sendBytesCount = total;
      return { data: Buffer.concat(chunks).toString('utf8'), statusCode, profile, errMsg: 'uploadFile:ok' };
    },
    onFail: () => stream?.destroy(),
  });
  return {
    abort: () => handle.abort(),
    onProgressUpdate: (fn) => onProgress.add(fn),
    offProgressUpdate: (fn) => onProgress.remove(fn),
    onHeadersReceived: (fn) => onHeaders.add(fn),
    offHeadersReceived: (fn) => onHeaders.remove(fn),
  };
}
