/**
 * How `local` and `respond` map rules answer: a response head and a body the proxy produces,
 * through the same steps as an upstream's (proxy/engine/forward.ts): the response rules read the
 * head, the body observers and the HAR tap see every chunk, the network condition shapes it, and
 * the body is streamed with backpressure (a file is never read whole).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ProxyContext } from '../../context.js';
import type { Exchange } from '../../flow/exchange.js';
import { answerFinding, bodyObservers, runResponseHeadRules } from '../../rules/pipeline.js';
import { responseSink } from '../../network/paths.js';
import { relayed } from '../relay-memory.js';

/** The client's upload, read and counted (the HAR and replay taps see it) though nobody upstream wants it. */
export function drainUpload(ex: Exchange): void {
  const { req } = ex;
  if (req.complete || req.readableEnded) return;
  req.on('data', (chunk: Buffer) => {
    ex.bytesIn += chunk.length;
    ex.requestBodyTap?.(chunk);
  });
  req.resume();
}

/** RFC 9110 §6.4.1: no content after HEAD, 204 or 304. */
const bodiless = (method: string, status: number) => method === 'HEAD' || status === 204 || status === 304;

/**
 * Answers `ex` (in state `forwarding`) with `status`, `headers` (lowercase names) and `body`: a
 * stream of `length` bytes, or bytes in hand. The exchange ends as if an upstream had answered.
 */
export function answerMapped(ctx: ProxyContext, ex: Exchange, status: number, headers: Record<string, string>, body: Buffer | { stream: Readable; length: number }): void {
  const stream = Buffer.isBuffer(body) ? undefined : body.stream;
  const writer = ex.writer!;
  const res = writer.body;
  if (ex.state !== 'forwarding' || res.destroyed) { stream?.destroy(); return; }
  const length = Buffer.isBuffer(body) ? body.length : body.length;
  const parsed: IncomingHttpHeaders = { ...headers };
  if (!bodiless(ex.method, status) || ex.method === 'HEAD') parsed['content-length'] = String(length);
  ex.status = status;
  ex.responseHeaders = parsed;
  ex.responseStartMs = ex.elapsedMs();
  const stop = runResponseHeadRules(ctx, ex);
  if (stop) { stream?.destroy(); answerFinding(ex, stop); return; }
  const flat: string[] = [];
  for (const [k, v] of Object.entries(parsed)) flat.push(k, String(v));
  // The writer adds `connection` over HTTP/1.1 and leaves it out over h2 (RFC 9113 §8.2.2).
  try {
    writer.head(status, '', flat);
  } catch (err) {
    // A head Node refuses to write (a value a rule's headers made invalid): nothing went out.
    stream?.destroy();
    ex.answer({ status: 502, headers: { 'x-mgproxy-error': 'map' }, body: JSON.stringify({ error: `mgproxy map: ${(err as Error).message}` }) }, 'error');
    return;
  }
  ex.moveTo('answered');
  if (bodiless(ex.method, status)) { stream?.destroy(); res.end(); return; }
  const observers = bodyObservers(ctx, ex);
  const sink = ex.network ? responseSink(ex, writer) : res;
  const pass = (chunk: Buffer): boolean => {
    ex.bytesOut += chunk.length;
    relayed(chunk.length);
    observers?.observe(chunk);
    ex.responseBodyTap?.(chunk);
    if (sink === res) ex.bytesToClient += chunk.length;
    return sink.write(chunk);
  };
  const end = () => { observers?.end(); sink.end(); };
  if (!stream) { if (length > 0) pass(body as Buffer); end(); return; }
  // The client left, or a rule cut the exchange: the file is closed.
  ex.upstream = { abort: () => stream.destroy() };
  const resume = () => stream.resume();
  stream.on('data', (chunk: Buffer) => { if (!pass(chunk)) { stream.pause(); sink.once('drain', resume); } });
  stream.on('end', end);
  stream.on('error', () => { if (ex.state !== 'ended') ex.cut('error'); });
}
