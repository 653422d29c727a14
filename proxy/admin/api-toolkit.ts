/**
 * The QA toolkit's admin routes (docs/toolkit.md): the map rules in force (`GET`/`POST /api/map`),
 * replay (`POST /api/replay`) and copy as cURL (`GET /api/exchange?id=N&as=curl`).
 */
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyContext } from '../context.js';
import { formatHost } from '../../config/net-address.js';
import { replay } from '../engine/replay.js';
import { curlCommand } from './curl.js';

type Route = (ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, url: URL) => void;

/** A map list may carry `respond` bodies: larger than the API's other bodies. */
const MAX_MAP_BODY_BYTES = 1024 * 1024;
const MAX_SMALL_BODY_BYTES = 16 * 1024;

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** Reads a JSON body up to `max` bytes: 413 past it, 400 naming `what` when it is not JSON. */
function readJson(req: IncomingMessage, res: ServerResponse, max: number, what: string, then: (value: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > max) { if (!res.headersSent) sendJson(res, 413, { error: `body over ${max} bytes` }); req.destroy(); return; }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > max) return;
    let value: unknown;
    try {
      value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      sendJson(res, 400, { error: `${what}: the body is not JSON (${(err as Error).message})` });
      return;
    }
    then(value);
  });
}

const getMap: Route = (ctx, _req, res) => sendJson(res, 200, ctx.map.entries);

/** Replaces the list at once; an invalid one gets 400 naming the first problem's path, and the old one stays. */
const postMap: Route = (ctx, req, res) => {
  readJson(req, res, MAX_MAP_BODY_BYTES, 'map', (value) => {
    const problems = ctx.map.set(value);
    if (problems.length > 0) { sendJson(res, 400, { error: `${problems[0]!.path}: ${problems[0]!.message}` }); return; }
    ctx.log.info({ map: ctx.map.entries.length }, 'map rules set');
    sendJson(res, 200, ctx.map.entries);
  });
};

const idOf = (text: string | null) => (text !== null && /^[1-9][0-9]{0,14}$/.test(text) ? Number(text) : undefined);

const postReplay: Route = (ctx, req, res) => {
  readJson(req, res, MAX_SMALL_BODY_BYTES, 'replay', (value) => {
    const id = (value as { id?: unknown } | null)?.id;
    if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0 || Object.keys(value as object).length !== 1) {
      sendJson(res, 400, { error: 'send {"id": <the id of a kept exchange>}' });
      return;
    }
    const r = ctx.exchanges.request(id);
    if (r === undefined) { sendJson(res, 404, { error: `no finished exchange ${id} is kept` }); return; }
    if (r === 'body-not-kept') { sendJson(res, 409, { error: `the request body of exchange ${id} was not kept (over 1 MiB, never read, or evicted)` }); return; }
    replay(ctx, r).then((newId) => {
      ctx.log.info({ id: newId, replayOf: id, url: r.url }, 'replay');
      sendJson(res, 200, { id: newId });
    }, (err: Error) => sendJson(res, 503, { error: err.message }));
  });
};

/** `http://HOST:PORT` of the proxy, as a client on this machine reaches it. */
function proxyUrlOf(ctx: ProxyContext): string {
  const at = ctx.state.listening;
  const host = !at ? '127.0.0.1' : at.host === '0.0.0.0' ? '127.0.0.1' : at.host === '::' ? '::1' : at.host;
  return `http://${formatHost(host)}:${at?.port ?? 0}`;
}

/** `GET /api/exchange?id=N&as=curl`: one curl command line, as text. */
export const getExchangeCurl: Route = (ctx, _req, res, url) => {
  const id = idOf(url.searchParams.get('id'));
  const r = id === undefined ? undefined : ctx.exchanges.request(id);
  if (r === undefined) { sendJson(res, 404, { error: `no finished exchange ${url.searchParams.get('id')} is kept` }); return; }
  if (r === 'body-not-kept') { sendJson(res, 409, { error: `the request body of exchange ${id} was not kept (over 1 MiB, never read, or evicted)` }); return; }
  const text = curlCommand(r, proxyUrlOf(ctx), path.resolve(ctx.ca.certFile));
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
};

export const TOOLKIT_ROUTES: readonly (readonly [string, Route])[] = [
  ['GET /api/map', getMap],
  ['POST /api/map', postMap],
  ['POST /api/replay', postReplay],
];
