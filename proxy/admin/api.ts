/**
 * The admin API (docs/dashboard.md, shapes in docs/rules.md): stats, violations, live events (SSE), the background
 * switch, the CA. One route table, so every path is found with one grep.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type { ProxyContext } from '../context.js';
import type { Violation } from '../flow/events.js';
import { sendJson } from '../flow/respond.js';
import { getConfig, getDashboard } from './dashboard.js';
import { jsonReportChunks, platformSummaries } from '../reports/json.js';
import { clientNameProblem } from '../../config/client-name.js';
import { normalizeIp } from '../../config/net-address.js';
import { reportExtras } from '../reports/index.js';
import { getExchangeCurl, TOOLKIT_ROUTES } from './api-toolkit.js';

export type Route = (ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, url: URL) => void;

/** A POST body larger than this is refused (413): the API takes small JSON only. */
const MAX_BODY_BYTES = 16 * 1024;
const SSE_KEEPALIVE_MS = 15_000;
const SSE_BATCH_MS = 200;

/** Kept importable from here for the routes' modules; its home is flow/respond.ts. */
export { sendJson };

/** Reads a small body; answers 413 itself when it is too large. */
export function readSmallBody(req: IncomingMessage, res: ServerResponse, then: (body: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      sendJson(res, 413, { error: `body over ${MAX_BODY_BYTES} bytes` });
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => { if (size <= MAX_BODY_BYTES) then(Buffer.concat(chunks).toString('utf8')); });
}

export function stats(ctx: ProxyContext) {
  return {
    requests: ctx.events.requests,
    violations: ctx.events.violationCount,
    byRule: ctx.events.byRule,
    // docs/platforms.md: per platform checked (config order), the violations that break its rules.
    byPlatform: platformSummaries(ctx.events, ctx.config.platforms),
    inFlight: ctx.inFlight.snapshot(),
    background: ctx.state.background,
  };
}

const getStats: Route = (ctx, _req, res) => sendJson(res, 200, stats(ctx));

const getViolations: Route = (ctx, _req, res, url) => {
  const rule = url.searchParams.get('rule');
  const severity = url.searchParams.get('severity');
  // `?limit=N`: the newest N only (the dashboard's first screen, not up to 100,000 events).
  const limitText = url.searchParams.get('limit');
  const limit = limitText !== null && /^[0-9]{1,9}$/.test(limitText) ? Number(limitText) : undefined;
  if (limitText !== null && limit === undefined) { sendJson(res, 400, { error: 'limit must be a whole number' }); return; }
  const keep = (v: Violation) => (rule === null || v.rule === rule) && (severity === null || v.severity === severity);
  const kept = ctx.events.violations().filter(keep);
  sendJson(res, 200, { violations: limit === undefined ? kept : kept.slice(Math.max(0, kept.length - limit)) });
};

const getEvents: Route = (ctx, req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write(': mgproxy violations\n\n');
  const onViolation = (v: Violation) => res.write(`event: violation\ndata: ${JSON.stringify(v)}\n\n`);
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
  ctx.events.on('violation', onViolation);
  // The dashboard's other live parts, batched every SSE_BATCH_MS so that a flood costs one write per batch.
  const batches = new Map<string, unknown[]>();
  let flushTimer: NodeJS.Timeout | undefined;
  const flush = () => {
    flushTimer = undefined;
    for (const [name, items] of batches) res.write(`event: ${name}\ndata: ${JSON.stringify(items)}\n\n`);
    batches.clear();
  };
  const queue = (name: string) => (item: unknown) => {
    let list = batches.get(name);
    if (!list) batches.set(name, (list = []));
    list.push(item);
    flushTimer ??= setTimeout(flush, SSE_BATCH_MS);
  };
  const feeds: [EventEmitter, string, string, (item: unknown) => void][] = [
    [ctx.events, 'exchange-summary', 'exchanges', queue('exchanges')],
    [ctx.events, 'timeline-marker', 'markers', queue('markers')],
    [ctx.events, 'client-name', 'clients', queue('clients')],
    [ctx.socketMessages, 'message', 'ws-messages', queue('ws-messages')],
  ];
  for (const [emitter, event, , fn] of feeds) emitter.on(event, fn);
  // A dashboard is watching: sockets opened from now on have their messages observed (docs/dashboard.md).
  const unwatch = ctx.socketMessages.watch();
  req.socket.on('close', () => {
    clearInterval(keepalive);
    clearTimeout(flushTimer);
    ctx.events.off('violation', onViolation);
    for (const [emitter, event, , fn] of feeds) emitter.off(event, fn);
    unwatch();
  });
};

const postBackground: Route = (ctx, req, res) => {
  readSmallBody(req, res, (body) => {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      value = undefined;
    }
    const on = (value as { background?: unknown } | undefined)?.background;
    if (typeof on !== 'boolean' || Object.keys(value as object).length !== 1) {
      sendJson(res, 400, { error: 'send {"background": true} or {"background": false}' });
      return;
    }
    ctx.state.setBackground(on);
    ctx.log.info({ background: on }, on ? 'background mode on' : 'background mode off');
    sendJson(res, 200, { background: on });
  });
};

/** `?client=` one client's; `?limit=N` the newest N (default 10,000, all kept). */
const getExchanges: Route = (ctx, _req, res, url) => {
  const limitText = url.searchParams.get('limit');
  const limit = limitText !== null && /^[0-9]{1,9}$/.test(limitText) ? Number(limitText) : undefined;
  if (limitText !== null && limit === undefined) { sendJson(res, 400, { error: 'limit must be a whole number' }); return; }
  sendJson(res, 200, { exchanges: ctx.exchanges.recent(url.searchParams.get('client') ?? undefined, limit) });
};

/** One exchange (finished, or a socket still open): its headers and timings, and for a socket its kept messages. */
const getExchange: Route = (ctx, req, res, url) => {
  const as = url.searchParams.get('as');
  if (as === 'curl') { getExchangeCurl(ctx, req, res, url); return; }
  if (as !== null) { sendJson(res, 400, { error: 'as= takes "curl" only' }); return; }
  const id = Number(url.searchParams.get('id'));
  const d = Number.isInteger(id) ? ctx.exchanges.detail(id) : undefined;
  if (!d) { sendJson(res, 404, { error: `no exchange ${url.searchParams.get('id')} is kept (finished, or a socket open)` }); return; }
  sendJson(res, 200, { ...d, ...(d.api === 'connectSocket' ? { messages: ctx.socketMessages.messagesOf(d.id), tally: ctx.socketMessages.tallyOf(d.id) ?? null } : {}) });
};

/** `?client=`: its in-flight points and concurrency markers of the last minutes. */
const getTimeline: Route = (ctx, _req, res, url) => {
  const client = url.searchParams.get('client');
  if (!client) { sendJson(res, 400, { error: 'name a client: /api/timeline?client=<ip>' }); return; }
  const { request, uploadFile, downloadFile, socket } = ctx.config.concurrency;
  sendJson(res, 200, { client, caps: { request, uploadFile, downloadFile, socket }, ...ctx.exchanges.timeline(normalizeIp(client)) });
};

const getClients: Route = (ctx, _req, res) => sendJson(res, 200, { clients: ctx.clients.list() });

/** Names a client from the dashboard: `{"client": "<ip>", "name": "<name>"}`; `"name": null` takes the name away. */
const postClients: Route = (ctx, req, res) => {
  readSmallBody(req, res, (body) => {
    let value: { client?: unknown; name?: unknown } | undefined;
    try {
      value = JSON.parse(body) as typeof value;
    } catch {
      value = undefined;
    }
    const usage = 'send {"client": "<ip>", "name": "<name>"} (or "name": null to remove the name)';
    if (typeof value !== 'object' || value === null || typeof value.client !== 'string' || !(typeof value.name === 'string' || value.name === null)
      || Object.keys(value).length !== 2) {
      sendJson(res, 400, { error: usage });
      return;
    }
    const name = typeof value.name === 'string' ? value.name.trim() : null;
    const why = clientNameProblem(value.client, name ?? 'x');
    if (why) { sendJson(res, 400, { error: why }); return; }
    ctx.clients.setName(value.client, name);
    const client = normalizeIp(value.client);
    ctx.log.info({ client, clientName: name }, name === null ? 'client name removed' : 'client named');
    ctx.events.emit('client-name', { client, name });
    sendJson(res, 200, { client, name });
  });
};

/** docs/network.md: the `network` object in force. */
const getNetwork: Route = (ctx, _req, res) => sendJson(res, 200, ctx.network.config);

/** docs/network.md: replaces the `network` object; an invalid one gets 400 naming the first problem's path, and the old one stays. */
const postNetwork: Route = (ctx, req, res) => {
  readSmallBody(req, res, (body) => {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (err) {
      sendJson(res, 400, { error: `network: the body is not JSON (${(err as Error).message})` });
      return;
    }
    const problems = ctx.network.set(value);
    if (problems.length > 0) {
      sendJson(res, 400, { error: `${problems[0]!.path}: ${problems[0]!.message}` });
      return;
    }
    ctx.log.info({ network: ctx.network.config }, 'network conditions set');
    sendJson(res, 200, ctx.network.config);
  });
};

/** docs/dashboard.md: the docs/rules.md report as it stands now; streamed, as it may hold 100,000 violations. */
const getReport: Route = (ctx, _req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  Readable.from(jsonReportChunks(ctx.events, reportExtras(ctx))).pipe(res);
};

/** The network health report now (docs/health.md); the first ask starts the recorder when `--health` did not. */
const getHealth: Route = (ctx, _req, res) => sendJson(res, 200, ctx.health.start().report());

const getCaPem: Route = (ctx, _req, res) => {
  res.writeHead(200, {
    'content-type': 'application/x-pem-file',
    'content-disposition': 'attachment; filename="mgproxy-ca.pem"',
    'content-length': Buffer.byteLength(ctx.ca.certPem),
  });
  res.end(ctx.ca.certPem);
};

/** `METHOD path` → handler. */
export const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  ['GET /', getDashboard],
  ['GET /api/config', getConfig],
  ['GET /api/stats', getStats],
  ['GET /api/violations', getViolations],
  ['GET /api/events', getEvents],
  ['POST /api/background', postBackground],
  ['GET /api/network', getNetwork],
  ['POST /api/network', postNetwork],
  ['GET /api/report', getReport],
  ['GET /api/health', getHealth],
  ['GET /api/clients', getClients],
  ['GET /api/exchanges', getExchanges],
  ['GET /api/exchange', getExchange],
  ['GET /api/timeline', getTimeline],
  ['POST /api/clients', postClients],
  ['GET /ca.pem', getCaPem],
  ...TOOLKIT_ROUTES,
]);
