/** The admin server: always 127.0.0.1 (SPEC §8), whatever `--host` says; never reachable through the proxy port. */
import http from 'node:http';
import type { ProxyContext } from '../context.js';
import { ROUTES, sendJson } from './api.js';

export function createAdminServer(ctx: ProxyContext): http.Server {
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      sendJson(res, 400, { error: 'bad request target' });
      return;
    }
    const route = ROUTES.get(`${req.method} ${url.pathname}`);
    if (route) { route(ctx, req, res, url); return; }
    const known = [...ROUTES.keys()].some((k) => k.endsWith(` ${url.pathname}`));
    sendJson(res, known ? 405 : 404, { error: known ? `${req.method} is not allowed on ${url.pathname}` : `no such path: ${url.pathname}` });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return server;
}
