/**
 * `GET /` on the admin port (docs/dashboard.md): the live dashboard, built once at load, and `GET
 * /api/config`, what it shows besides the counts. The page's Content Security
 * Policy names the inline script and style by hash and allows connections to this origin only,
 * so the page cannot load or send anything elsewhere (docs/rules.md: it must work on a LAN without
 * internet) and a URL shown in the list cannot inject a script.
 */
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { androidSystemFileName } from '../../certs/android.js';
import type { ProxyContext } from '../context.js';
import { formatHost } from '../../config/net-address.js';
import { caCommonName } from '../phones/onboarding.js';
import { isWildcardHost, phoneSetup, phoneSetups } from '../phones/phones.js';
import { qrSvg } from '../phones/qr.js';
import { DASHBOARD_SCRIPT, DASHBOARD_STYLE, renderDashboardPage } from './dashboard-page.js';
import { sendJson } from '../flow/respond.js';

const hash = (text: string) => `'sha256-${crypto.createHash('sha256').update(text).digest('base64')}'`;

const PAGE = Buffer.from(renderDashboardPage());
const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': [
    "default-src 'none'", `script-src ${hash(DASHBOARD_SCRIPT)}`, `style-src ${hash(DASHBOARD_STYLE)}`,
    "connect-src 'self'", 'img-src data:', "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join('; '),
};

// Both handlers have api.ts's Route signature, kept structural so the two modules do not import each other.

let noticePage: { notice: string; page: Buffer } | undefined;

export function getDashboard(ctx: ProxyContext, _req: IncomingMessage, res: ServerResponse): void {
  const { notice } = ctx.ca;
  if (notice && noticePage?.notice !== notice) noticePage = { notice, page: Buffer.from(renderDashboardPage(notice)) };
  const page = notice ? noticePage!.page : PAGE;
  res.writeHead(200, { ...HEADERS, 'content-length': String(page.length) });
  res.end(page);
}

/**
 * The config summary (appid, version, mode, domains per API, caps), where the proxy listens, the
 * phone addresses with their onboarding QR codes (drawn here: the page loads nothing), the CA.
 */
export function configSummary(ctx: ProxyContext) {
  const { config, ca } = ctx;
  const at = ctx.state.listening;
  return {
    appid: config.appid, version: config.version, mode: config.mode, file: config.file ?? null,
    // The platforms checked, the deciding one first, and the device: what `mgproxy/runtime` takes as its defaults (docs/runtime.md).
    platform: config.platformNames, device: config.device,
    domains: config.domains, concurrency: config.concurrency, timeouts: config.timeouts, referer: config.referer,
    skipVerification: config.skipVerification, allowLanIps: config.allowLanIps, passthrough: config.passthrough,
    proxy: at ? { host: at.host, port: at.port, url: `http://${formatHost(at.host)}:${at.port}` } : null,
    // This computer's own onboarding page (the CA, the PAC, the steps for simulators).
    onboarding: at ? phoneSetup(isWildcardHost(at.host) ? '127.0.0.1' : at.host, at.port).onboarding : null,
    phones: at ? phoneSetups(at.host, at.port).map((p) => ({ ...p, qrSvg: qrSvg(p.onboarding) })) : [],
    ca: { name: caCommonName(ca.x509), sha256: ca.x509.fingerprint256, validTo: ca.x509.validTo, androidFile: androidSystemFileName(ca.certDer) },
  };
}

export function getConfig(ctx: ProxyContext, _req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 200, configSummary(ctx));
}
