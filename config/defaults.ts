import type { MgproxyConfig } from './schema.js';
import { NETWORK_OFF } from './network.js';

/** TCSAS's default and maximum timeout (its network rules: "The default and maximum timeout is 60 seconds"); every platform's in config/platforms.ts. */
export const MAX_TIMEOUT_MS = 60_000;

/**
 * Built-in defaults, used for every key a config file leaves out. `touristappid` is the appid the
 * developer tools use for a project without one.
 */
export const DEFAULTS: Readonly<MgproxyConfig> = Object.freeze<MgproxyConfig>({
  platform: 'tcsas',
  device: 'android',
  appid: 'touristappid',
  version: '0',
  domains: { request: [], uploadFile: [], downloadFile: [], socket: [] },
  networkTimeout: {},
  mode: 'enforce',
  skipVerification: false,
  allowLanIps: true,
  // What a device does (docs/device.md): 10 per API, 5 sockets, calls over a cap wait.
  concurrency: { request: 10, uploadFile: 10, downloadFile: 10, socket: 5, overflow: 'queue' },
  referer: 'rewrite',
  passthrough: [],
  clients: {},
  upstream: { hosts: {}, extraCaFiles: [], noProxy: [] },
  har: { redact: [], secrets: 'redact' },
  network: NETWORK_OFF,
  http2: true,
  map: [],
});
