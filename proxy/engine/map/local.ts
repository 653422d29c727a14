/**
 * `local` map rules (docs/toolkit.md): the file, or the file under the folder named by what the
 * pattern's last `*` matched, never outside that folder (a `..` segment, raw or percent-encoded, an
 * encoded `/`, or a symbolic link leading out is 404). The file is opened, then streamed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ProxyContext } from '../../context.js';
import type { Exchange } from '../../flow/exchange.js';
import { answerMapped } from './answer.js';
import { contentTypeOf } from './media-types.js';

/** The answer when there is no file to read: 404 from the proxy, saying which file. */
export function notFound(ex: Exchange, message: string): void {
  ex.answer({ status: 404, headers: {}, body: JSON.stringify({ error: `mgproxy map: ${message}` }) }, 'completed');
}

/** `tail` (a URL path, maybe with a query) under `folder`, or undefined when it would leave it. */
export function fileUnder(folder: string, tail: string): string | undefined {
  const rel = tail.replace(/[?#].*$/s, '');
  const segments: string[] = [];
  for (const raw of rel.split('/')) {
    let seg: string;
    try { seg = decodeURIComponent(raw); } catch { return undefined; }
    if (seg === '..' || /[/\\\0]/.test(seg)) return undefined;
    if (seg !== '' && seg !== '.') segments.push(seg);
  }
  const file = path.join(folder, ...segments);
  return file.startsWith(folder.endsWith(path.sep) ? folder : folder + path.sep) ? file : undefined;
}

/** Whether `base` names a folder: written with a trailing `/`, or an existing directory. */
async function isFolder(base: string): Promise<boolean> {
  if (base.endsWith('/')) return true;
  try { return (await fs.promises.stat(base)).isDirectory(); } catch { return false; }
}

/** Opens `file` as a regular file, or says why not. */
export async function openFile(file: string): Promise<{ handle: fs.promises.FileHandle; size: number } | string> {
  let handle: fs.promises.FileHandle;
  try { handle = await fs.promises.open(file, 'r'); } catch (err) { return `${file}: ${(err as NodeJS.ErrnoException).code ?? 'cannot be read'}`; }
  const stat = await handle.stat().catch(() => undefined);
  if (!stat?.isFile()) { await handle.close().catch(() => undefined); return `${file} is not a file`; }
  return { handle, size: stat.size };
}

/** Resolves and serves; `base` is the rule's absolute `local` (a trailing `/` kept). */
export async function serveLocal(ctx: ProxyContext, ex: Exchange, base: string, tail: string): Promise<void> {
  let file = base;
  if (await isFolder(base)) {
    const folder = path.resolve(base);
    const under = fileUnder(folder, tail);
    // A symbolic link inside the folder may point out of it: the real paths must agree too.
    const real = under && await fs.promises.realpath(under).catch(() => under);
    const realFolder = await fs.promises.realpath(folder).catch(() => folder);
    if (!under || !real!.startsWith(realFolder + path.sep)) { notFound(ex, `${JSON.stringify(tail)} leaves the folder ${folder}`); return; }
    file = under;
  }
  ex.mapped = { type: 'local', to: file };
  const opened = await openFile(file);
  if (typeof opened === 'string') { notFound(ex, opened); return; }
  if (ex.state !== 'forwarding') { await opened.handle.close().catch(() => undefined); return; }
  const stream = opened.handle.createReadStream();
  answerMapped(ctx, ex, 200, { 'content-type': contentTypeOf(file), 'cache-control': 'no-store' }, { stream, length: opened.size });
}
