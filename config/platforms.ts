/**
 * Platform profiles (docs/platforms.md): what each super app's runtime enforces on a mini game's network
 * calls. Every value comes from the platform's developer docs or a mirror of them (listed in
 * docs/platforms.md, "Sources"); a cell the table leaves open ("?", "—", not stated) keeps the
 * TCSAS value and is named in `unknown`, so that docs/platforms.md and `check-config` can say so.
 */
import type { Api } from './vocabulary.js';

export const PLATFORM_NAMES = ['tcsas', 'wechat', 'qq', 'douyin-game', 'douyin-app', 'baidu', 'taptap'] as const;
export type PlatformName = (typeof PLATFORM_NAMES)[number];
export type Device = 'android' | 'ios';
export const DEVICES: readonly Device[] = ['android', 'ios'];

/**
 * How a platform treats an explicit port in a request URL. `any`: every port of a listed host;
 * `exact`: a domain listed without a port allows no explicit port (not even `:443`), one listed with
 * a port allows only that one; `none`: no explicit port at all.
 */
export type PortRule = 'any' | 'exact' | 'none';

/**
 * One in-flight cap: at most `max` exchanges of `apis` per client, counted together (per host when
 * `perHost`). A platform's caps all apply at once: an exchange needs room in every cap of its API.
 */
export interface Cap {
  apis: readonly Api[];
  max: number;
  perHost?: boolean;
}

export interface PlatformProfile {
  name: PlatformName;
  /** The name users know it by, for messages and reports. */
  title: string;
  /**
   * The Referer the runtime sends (it cannot be set), with `{appid}` and `{version}`; null when the
   * platform's value is not documented (TapTap): then it is neither rewritten nor checked.
   */
  referer: string | null;
  /** Caps for the device (Baidu's differ by OS). */
  caps(device: Device): readonly Cap[];
  /** Default and maximum of each API's timeout, in ms. */
  timeoutDefaultMs: number;
  timeoutMaxMs: number;
  ports: PortRule;
  /** errMsg reason of `background-call` and `background-interrupted`. */
  backgroundReason: string;
  /** Seconds in the background before in-flight calls fail. */
  backgroundGraceMs: number;
  /** Hosts refused even when listed (`host-refused`). */
  refusedHosts: readonly string[];
  /** Plain `http://` is allowed when `version` is `"0"` (a test build). */
  httpInTestBuilds: boolean;
  /** The cells of the reference table that were unknown, left at the TCSAS value. */
  unknown: readonly string[];
}

/**
 * "At most 10 request/uploadFile/downloadFile in flight; at most 5 connectSocket open"
 * (mini-game-network-rules.txt), one cap per API: the WeChat client keeps `maxRequestConcurrent`,
 * `maxUploadConcurrent`, `maxDownloadConcurrent` and `maxWebsocketConnect` apart (docs/device.md).
 */
const SOCKETS_5: Cap = { apis: ['connectSocket'], max: 5 };
const TCSAS_CAPS: readonly Cap[] = [
  { apis: ['request'], max: 10 }, { apis: ['uploadFile'], max: 10 }, { apis: ['downloadFile'], max: 10 }, SOCKETS_5,
];

/** The seed (mini-game-network-rules.txt): every other profile starts from these values. */
const TCSAS: PlatformProfile = {
  name: 'tcsas',
  title: 'TCSAS',
  referer: 'https://appservice.wx.com/{appid}/{version}/page-frame.html',
  caps: () => TCSAS_CAPS,
  timeoutDefaultMs: 60_000,
  timeoutMaxMs: 60_000,
  ports: 'any',
  backgroundReason: 'interrupted',
  backgroundGraceMs: 5000,
  refusedHosts: [],
  httpInTestBuilds: false,
  unknown: [],
};

export const PLATFORMS: Readonly<Record<PlatformName, PlatformProfile>> = Object.freeze<Record<PlatformName, PlatformProfile>>({
  tcsas: TCSAS,
  // developers.weixin.qq.com, mini game guide "network" and wx.request: Referer, 10 / 5, 60 s,
  // exact ports; the mini program network guide bans api.weixin.qq.com; background "same" as TCSAS.
  wechat: {
    ...TCSAS, name: 'wechat', title: 'WeChat',
    referer: 'https://servicewechat.com/{appid}/{version}/page-frame.html',
    ports: 'exact',
    refusedHosts: ['api.weixin.qq.com'],
  },
  // QQ mini program/game network docs (w3cschool mirror, 2020): Referer, 10 in flight, 60 s, exact
  // ports, 5 s in the background, api.q.qq.com banned. Sockets and the errMsg are not stated.
  qq: {
    ...TCSAS, name: 'qq', title: 'QQ',
    referer: 'https://appservice.qq.com/{appid}/{version}/page-frame.html',
    ports: 'exact',
    refusedHosts: ['api.q.qq.com'],
    unknown: ['connectSocket cap', 'background errMsg'],
  },
  // developer.open-douyin.com mini-game guide "network" (caps: request 15, uploadFile 5,
  // downloadFile 5, socket 5, separate), c-api tt-request (Referer, query form), tt-request (60 s);
  // any port, the configured domain may carry none. Background: "not stated for mini games".
  'douyin-game': {
    ...TCSAS, name: 'douyin-game', title: 'Douyin mini game',
    referer: 'https://tmaservice.developer.toutiao.com?appid={appid}&version={version}',
    caps: () => [
      { apis: ['request'], max: 15 }, { apis: ['uploadFile'], max: 5 }, { apis: ['downloadFile'], max: 5 }, SOCKETS_5,
    ],
    unknown: ['background'],
  },
  // developer.open-douyin.com mini-app api/network (Referer, exact ports, 5 s then "app in
  // background", http allowed in test builds) and Feishu, the same runtime ("最大并发限制为 10 个").
  'douyin-app': {
    ...TCSAS, name: 'douyin-app', title: 'Douyin mini program',
    referer: 'https://tmaservice.developer.toutiao.com/?appid={appid}&version={version}',
    ports: 'exact',
    backgroundReason: 'app in background',
    httpInTestBuilds: true,
    unknown: ['connectSocket cap', 'timeout default'],
  },
  // Baidu smart program docs (w3cschool mirror): Referer (base library ≥ 3.170.0), request caps
  // per OS, 5 sockets, 60 s, no port allowed, openapi.baidu.com banned. Background not stated;
  // uploadFile/downloadFile caps not stated (TCSAS's 10 each).
  baidu: {
    ...TCSAS, name: 'baidu', title: 'Baidu',
    referer: 'https://smartapps.cn/{appid}/{version}/page-frame.html',
    caps: (device) => device === 'ios'
      ? [{ apis: ['request'], max: 6, perHost: true }, { apis: ['uploadFile'], max: 10 }, { apis: ['downloadFile'], max: 10 }, SOCKETS_5]
      : [{ apis: ['request'], max: 5, perHost: true }, { apis: ['request'], max: 64 }, { apis: ['uploadFile'], max: 10 }, { apis: ['downloadFile'], max: 10 }, SOCKETS_5],
    ports: 'none',
    refusedHosts: ['openapi.baidu.com'],
    unknown: ['uploadFile/downloadFile cap', 'background'],
  },
  // developer.taptap.cn mini game API "网络请求": 10 in flight, 60 s, any port, https only. The
  // Referer is not settable and its value is not documented.
  taptap: {
    ...TCSAS, name: 'taptap', title: 'TapTap mini game',
    referer: null,
    unknown: ['Referer', 'connectSocket cap', 'background'],
  },
});

export const isPlatformName = (v: unknown): v is PlatformName => typeof v === 'string' && (PLATFORM_NAMES as readonly string[]).includes(v);

/** `{appid}` and `{version}` filled in; null when the platform's Referer is not known. */
export function refererOf(p: PlatformProfile, appid: string, version: string): string | null {
  return p.referer === null ? null : p.referer.replace('{appid}', appid).replace('{version}', version);
}

/** The largest number of `apis`' exchanges a platform lets one client have in flight, counting every cap. */
export function capFor(caps: readonly Cap[], api: Api): number {
  return Math.max(...caps.filter((c) => c.apis.includes(api)).map((c) => c.max));
}

/** One line per cap, as messages and docs/platforms.md show them: "request 15, uploadFile 5, …". */
export function describeCaps(caps: readonly Cap[]): string {
  return caps.map((c) => `${c.apis.join('+')} ${c.max}${c.perHost ? ' per host' : ''}`).join(', ');
}
