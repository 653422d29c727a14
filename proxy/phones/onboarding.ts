/**
 * Onboarding for phones (docs/dashboard.md, docs/rules.md "Dashboard and onboarding pages"), like mitm.it: served by
 * the proxy itself for plain-HTTP proxy requests to `mgproxy.local` and for origin-form requests
 * straight to the proxy port (a phone with no proxy set yet). Exempt from the rules: no exchange,
 * no violation, nothing forwarded. Everything comes from memory; there is no file path to
 * traverse, and the CA key is never among the answers.
 */
import crypto, { type X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { androidSystemFileName } from '../../certs/android.js';
import type { ProxyContext } from '../context.js';
import { tunnelOf } from '../engine/connect.js';
import { isValidHost, normalizeIp, splitHostPort } from '../../config/net-address.js';
import { ONBOARDING_STYLE, type OnboardingPageData, renderOnboardingPage } from './onboarding-page.js';
import { ONBOARDING_HOST, phoneSetup } from './phones.js';
import { qrSvg } from './qr.js';
import { isOriginForm } from '../engine/server.js';

/** Where the client reached the proxy, and what it asked for. */
interface OnboardingRequest { host: string; port: number; path: string; viaProxy: boolean }

/** A path longer than this is no page of ours: 414. */
const MAX_PATH = 1024;

const PROXY_FORM = /^http:\/\/([^/?#]*)([^#]*)/i;

/**
 * Is this an onboarding request? Through the proxy: an absolute-form `http://mgproxy.local/…`,
 * where the socket's local address is the proxy address the client set. Direct: an origin-form
 * request, where the Host header is what the phone typed (right even behind a port mapping such
 * as Docker's `-p`), else the socket's local address.
 */
function onboardingRequest(req: IncomingMessage): OnboardingRequest | undefined {
  // A request inside a tunnel is for its origin, never for these pages: answered before anything
  // else is read (the local address below costs a getsockname per request).
  if (tunnelOf(req.socket)) return undefined;
  const url = req.url ?? '';
  const local = () => ({ host: normalizeIp(req.socket.localAddress ?? '127.0.0.1'), port: req.socket.localPort ?? 0 });
  if (isOriginForm(req)) {
    const given = splitHostPort(req.headers.host ?? '');
    const reached = given && isValidHost(given.host) ? { host: given.host, port: given.port ?? 80 } : local();
    return { ...reached, path: url, viaProxy: false };
  }
  const m = PROXY_FORM.exec(url);
  const target = m ? splitHostPort(m[1]!.replace(/^[^@]*@/, '')) : undefined;
  if (!m || target?.host !== ONBOARDING_HOST) return undefined;
  return { ...local(), path: m[2] || '/', viaProxy: true };
}

function platformOf(req: IncomingMessage): OnboardingPageData['platform'] {
  const ua = req.headers['user-agent'] ?? '';
  return /iPhone|iPad|iPod/.test(ua) ? 'ios' : /Android/.test(ua) ? 'android' : 'other';
}

/** The CA's CN, the name phones show in their certificate lists. */
export function caCommonName(x509: X509Certificate): string {
  return x509.subject.split('\n').find((l) => l.startsWith('CN='))?.slice(3) ?? 'mgproxy CA';
}

interface Answer { status: number; type: string; body: string | Buffer; headers?: Record<string, string> }

const text = (status: number, body: string): Answer => ({ status, type: 'text/plain; charset=utf-8', body: `${body}\n` });

export function createOnboarding(ctx: ProxyContext): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { ca } = ctx;
  const androidFile = androidSystemFileName(ca.certDer);
  const caName = caCommonName(ca.x509);
  const styleHash = crypto.createHash('sha256').update(ONBOARDING_STYLE).digest('base64');
  // No script at all; the one inline style by its hash; images only as data: (none today).
  const csp = `default-src 'none'; style-src 'sha256-${styleHash}'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  const files: Record<string, (r: OnboardingRequest, req: IncomingMessage) => Answer> = {
    '/': (r, req) => ({
      status: 200, type: 'text/html; charset=utf-8', headers: { 'content-security-policy': csp },
      body: renderOnboardingPage({
        host: r.host, port: r.port, viaProxy: r.viaProxy, androidFile, caName,
        caSha256: ca.x509.fingerprint256, caValidTo: new Date(ca.x509.validTo).toISOString().slice(0, 10),
        qrSvg: qrSvg(phoneSetup(r.host, r.port).onboarding), platform: platformOf(req), caNotice: ca.notice,
      }),
    }),
    // iOS installs a profile from application/x-x509-ca-cert; Android's installer takes DER too.
    '/ca.crt': () => ({ status: 200, type: 'application/x-x509-ca-cert', body: ca.certDer, headers: { 'content-disposition': 'attachment; filename="mgproxy-ca.crt"' } }),
    '/ca.pem': () => ({ status: 200, type: 'application/x-pem-file', body: ca.certPem, headers: { 'content-disposition': 'attachment; filename="mgproxy-ca.pem"' } }),
    [`/${androidFile}`]: () => ({ status: 200, type: 'application/octet-stream', body: ca.certPem, headers: { 'content-disposition': `attachment; filename="${androidFile}"` } }),
    // docs/rules.md: exactly this function, with the proxy as this client reached it.
    '/proxy.pac': (r) => ({ status: 200, type: 'application/x-ns-proxy-autoconfig', body: `function FindProxyForURL(url, host) { return "PROXY ${phoneSetup(r.host, r.port).proxy}"; }` }),
  };

  const answer = (r: OnboardingRequest, req: IncomingMessage): Answer => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return { ...text(405, `${req.method} is not allowed here: the onboarding pages are GET only`), headers: { allow: 'GET, HEAD' } };
    if (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0' || req.headers['transfer-encoding'] !== undefined) {
      return text(400, 'the onboarding pages take no request body');
    }
    if (r.path.length > MAX_PATH) return text(414, 'path too long');
    const path = r.path.split('?')[0]!;
    const file = Object.hasOwn(files, path) ? files[path]! : undefined;
    return file ? file(r, req) : text(404, `no such onboarding page: open http://${ONBOARDING_HOST}/`);
  };

  return (req, res) => {
    const r = onboardingRequest(req);
    if (!r) return false;
    const a = answer(r, req);
    const body = typeof a.body === 'string' ? Buffer.from(a.body) : a.body;
    const close = a.status >= 400;
    res.writeHead(a.status, {
      ...a.headers,
      'content-type': a.type,
      'content-length': body.length,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // An answer to a bad request closes the connection, so a body we did not read cannot be taken for the next request.
      ...(close ? { connection: 'close' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    ctx.log.info({ client: normalizeIp(req.socket.remoteAddress ?? ''), method: req.method, path: r.path.slice(0, 200), status: a.status, via: r.viaProxy ? 'proxy' : 'direct' }, 'onboarding');
    return true;
  };
}
