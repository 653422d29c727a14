/**
 * `createRuntime`'s options resolved (docs/runtime.md "Options"): what comes from the environment
 * `mgproxy run` sets (HTTPS_PROXY, NODE_EXTRA_CA_CERTS, MGPROXY_ADMIN), from game.json, and from the
 * proxy's own config (`GET /api/config` on its admin port), with the documented fallbacks.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { type Cap, type Device, DEVICES, isPlatformName, type PlatformName, type PlatformProfile, PLATFORMS, refererOf } from '../../config/platforms.js';
import type { ApiName } from './errors.js';
import type { RuntimeOptions } from './types.js';
import { Slots } from './slots.js';

export const API_NAMES: readonly ApiName[] = ['request', 'uploadFile', 'downloadFile', 'connectSocket'];

/** What the proxy's config says, when the runtime can ask it. */
interface ProxyDefaults { platform?: PlatformName; appid?: string; version?: string }

/** The settings every call reads, fixed once the proxy's config is known. */
export interface Settings {
  platform: PlatformProfile;
  appid: string;
  version: string;
  /** The platform's Referer, or null when it sends none we know (TapTap). */
  referer: string | null;
  /** One queue per API, with that API's caps. */
  slots: Record<ApiName, Slots>;
}

/** The limit the device applies to every timeout: 60 s ("默认超时时间和最大超时时间都是 60s", TCSAS and Douyin docs). */
export const MAX_TIMEOUT_MS = 60_000;

/** game.json's `networkTimeout` per API, read at construction; a broken file is the caller's error, said at once. */
export function readGameJsonTimeouts(file: string | undefined): Partial<Record<ApiName, number>> {
  if (file === undefined) return {};
  const full = path.resolve(process.cwd(), file);
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(full, 'utf8'));
  } catch (err) {
    throw new Error(`mgproxy/runtime: gameJson ${full} cannot be read as JSON: ${(err as Error).message}`);
  }
  const nt = (value as { networkTimeout?: unknown } | null)?.networkTimeout;
  if (nt === undefined) return {};
  if (typeof nt !== 'object' || nt === null) throw new Error(`mgproxy/runtime: networkTimeout in ${full} must be an object`);
  const out: Partial<Record<ApiName, number>> = {};
  for (const api of API_NAMES) {
    const v = (nt as Record<string, unknown>)[api];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0)) throw new Error(`mgproxy/runtime: networkTimeout.${api} in ${full} must be a positive number of milliseconds`);
    out[api] = v;
  }
  return out;
}

export function checkOptions(o: RuntimeOptions): void {
  if (o.platform !== undefined && !isPlatformName(o.platform)) throw new Error(`mgproxy/runtime: platform must be one of ${Object.keys(PLATFORMS).join(', ')}`);
  if (o.device !== undefined && !DEVICES.includes(o.device)) throw new Error('mgproxy/runtime: device must be "android" or "ios"');
  if (o.proxy !== undefined && o.proxy !== '' && !/^https?:\/\//.test(o.proxy)) throw new Error('mgproxy/runtime: proxy must be an http:// URL');
}

/** GET `path` on the admin server as JSON; bounded, never through the proxy. */
export function adminJson(admin: string, method: 'GET' | 'POST', p: string, body?: unknown, ms = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(new URL(p, admin), {
      method, agent: false, timeout: ms,
      headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 400) { reject(new Error(`${method} ${p}: ${res.statusCode} ${text}`)); return; }
        try { resolve(JSON.parse(text)); } catch (err) { reject(err as Error); }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${p}: no answer within ${ms} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function proxyDefaults(admin: string | undefined): Promise<ProxyDefaults> {
  if (!admin) return {};
  try {
    const c = await adminJson(admin, 'GET', '/api/config') as { platform?: unknown; appid?: unknown; version?: unknown };
    const first = Array.isArray(c.platform) ? c.platform[0] : c.platform;
    return {
      platform: isPlatformName(first) ? first : undefined,
      appid: typeof c.appid === 'string' ? c.appid : undefined,
      version: typeof c.version === 'string' ? c.version : undefined,
    };
  } catch {
    // No proxy config to read (an older proxy, or none listening): the documented fallbacks.
    return {};
  }
}

/** The caps of `api` on `platform` for `device`, each counted for this API alone (a call counts only against its own API). */
function capsOf(p: PlatformProfile, device: Device, api: ApiName): Cap[] {
  return p.caps(device).filter((c) => c.apis.includes(api));
}

export async function resolveSettings(o: RuntimeOptions, device: Device, admin: string | undefined): Promise<Settings> {
  const needProxy = o.platform === undefined || o.appid === undefined || o.version === undefined;
  const d = needProxy ? await proxyDefaults(admin) : {};
  const platform = PLATFORMS[o.platform ?? d.platform ?? 'tcsas'];
  const appid = o.appid ?? d.appid ?? 'touristappid';
  const version = o.version ?? d.version ?? '0';
  const slots = Object.fromEntries(API_NAMES.map((api) => [api, new Slots(capsOf(platform, device, api))])) as Record<ApiName, Slots>;
  return { platform, appid, version, referer: refererOf(platform, appid, version), slots };
}
