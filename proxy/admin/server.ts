/** The admin server: on 127.0.0.1 unless `--admin-host` says otherwise (docs/dashboard.md), whatever `--host` says; never reachable through the proxy port. */
import http from 'node:http';
import type { ProxyContext } from '../context.js';
import { splitHostPort, ipFamily } from '../../config/net-address.js';
import { clientErrorStatus, sendJson, writeRawAnswer } from '../flow/respond.js';
import type { Route } from './api.js';

/**
 * A browser page from another origin may send simple POSTs to 127.0.0.1 (no CORS preflight for
 * text/plain): a state-changing request that names a foreign Origin is refused. curl and scripts
 * send no Origin.
 */
function foreignOrigin(req: http.IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || req.method === 'GET' || req.method === 'HEAD') return false;
  return origin !== `http://${req.headers.host ?? ''}`;
}

/**
 * DNS rebinding: a web page whose name an attacker points at 127.0.0.1 is same-origin with this
 * server as far as the browser knows. Its requests carry that name in Host; ours carry an address
 * or localhost.
 */
function foreignHost(req: http.IncomingMessage): boolean {
  const host = splitHostPort(req.headers.host ?? '')?.host;
  return host === undefined || (ipFamily(host) === 0 && host !== 'localhost');
}

/**
 * The routes, the dashboard page and what they use are loaded by the first request, not at start:
 * the proxy port answers sooner (docs/architecture.md), and a proxy nobody opens the dashboard of
 * never loads them.
 */
let routes: ReadonlyMap<string, Route> | undefined;
let loading: Promise<ReadonlyMap<string, Route>> | undefined;
function loadRoutes(): Promise<ReadonlyMap<string, Route>> {
  loading ??= import('./api.js').then((api) => (routes = api.ROUTES));
  return loading;
}

export function createAdminServer(ctx: ProxyContext): http.Server {
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      sendJson(res, 400, { error: 'bad request target' });
      return;
    }
    if (foreignHost(req)) { sendJson(res, 403, { error: `open the admin API as http://127.0.0.1:${req.socket.localPort}/, not by the name ${JSON.stringify(req.headers.host ?? '')}` }); return; }
    if (foreignOrigin(req)) { sendJson(res, 403, { error: `requests from ${req.headers.origin} are not accepted` }); return; }
    const serve = (routes: ReadonlyMap<string, Route>) => {
      const route = routes.get(`${req.method} ${url.pathname}`);
      if (route) { route(ctx, req, res, url); return; }
      const known = [...routes.keys()].some((k) => k.endsWith(` ${url.pathname}`));
      sendJson(res, known ? 405 : 404, { error: known ? `${req.method} is not allowed on ${url.pathname}` : `no such path: ${url.pathname}` });
    };
    if (routes) { serve(routes); return; }
    loadRoutes().then(serve, (err: Error) => {
      ctx.log.error({ error: { message: err.message, stack: err.stack } }, 'the admin API could not be loaded');
      sendJson(res, 500, { error: `the admin API could not be loaded: ${err.message}` });
    });
  });
  // Malformed or oversized requests get a 4xx, like on the proxy port (docs/architecture.md).
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const code = err.code ?? '';
    const status = clientErrorStatus(code);
    if (status === undefined || !socket.writable) { socket.destroy(); return; }
    writeRawAnswer(socket, status, {}, `mgproxy admin: malformed request (${code})\n`);
  });
  return server;
}
