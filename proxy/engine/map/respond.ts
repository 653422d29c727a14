/**
 * `respond` map rules (docs/toolkit.md): the proxy answers with the rule's status, headers and
 * body (`body` as UTF-8, or `bodyFile` streamed, its `content-type` from its extension unless the
 * rule's headers give one).
 */
import type { MapRespond } from '../../../config/map.js';
import type { ProxyContext } from '../../context.js';
import type { Exchange } from '../../flow/exchange.js';
import { answerMapped } from './answer.js';
import { notFound, openFile } from './local.js';
import { contentTypeOf } from './media-types.js';

export async function serveRespond(ctx: ProxyContext, ex: Exchange, respond: MapRespond, bodyFile: string | undefined): Promise<void> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(respond.headers ?? {})) headers[k.toLowerCase()] = v;
  const status = respond.status ?? 200;
  if (bodyFile === undefined) {
    answerMapped(ctx, ex, status, headers, Buffer.from(respond.body ?? '', 'utf8'));
    return;
  }
  const opened = await openFile(bodyFile);
  if (typeof opened === 'string') { notFound(ex, opened); return; }
  if (ex.state !== 'forwarding') { await opened.handle.close().catch(() => undefined); return; }
  headers['content-type'] ??= contentTypeOf(bodyFile);
  answerMapped(ctx, ex, status, headers, { stream: opened.handle.createReadStream(), length: opened.size });
}
