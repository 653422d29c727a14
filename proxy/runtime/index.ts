/**
 * `mgproxy/runtime`: the mini-game network API (`request`, `uploadFile`, `downloadFile`,
 * `connectSocket`) for a game's own Node tests, with the device's callbacks, caps, queue, timeouts
 * and errors, through the proxy `mgproxy run` names in the environment. docs/runtime.md is its manual.
 *
 *   import { createRuntime } from 'mgproxy/runtime';
 *   const wx = createRuntime({ platform: 'wechat', gameJson: './game.json' });
 *   wx.request({ url: 'https://api.example.com/login', method: 'POST', data: { code: 'x' }, success(res) {}, fail(err) {} });
 *
 * Imports nothing of the proxy itself: only undici, ws, Node, and config/'s pure platform table.
 */
import { adminJson, checkOptions, readGameJsonTimeouts, resolveSettings } from './settings.js';
import { type Core, makeDispatcher, trustOf } from './core.js';
import { request } from './request.js';
import { uploadFile } from './upload-file.js';
import { downloadFile } from './download-file.js';
import { connectSocket } from './socket.js';
import type { Runtime, RuntimeOptions } from './types.js';

export type * from './types.js';

/** An empty string in the environment means "not set", as for curl and undici's EnvHttpProxyAgent. */
const env = (...names: string[]) => names.map((n) => process.env[n]).find((v) => v !== undefined && v !== '');

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  checkOptions(options);
  const proxyText = options.proxy ?? env('HTTPS_PROXY', 'https_proxy');
  const proxy = proxyText ? new URL(proxyText) : undefined;
  const ca = trustOf(options.ca);
  const device = options.device ?? 'android';
  const admin = options.admin ?? env('MGPROXY_ADMIN');
  const gameTimeouts = readGameJsonTimeouts(options.gameJson);
  const ready = resolveSettings(options, device, admin);
  // A rejection is handled by each call; this keeps an unused runtime from an unhandled rejection.
  ready.catch(() => undefined);
  const core: Core = { device, ready, dispatcher: makeDispatcher(proxy, ca), proxy, ca, gameTimeouts, background: false, live: new Set() };
  let interruption: NodeJS.Timeout | undefined;

  return {
    request: (o) => request(core, o),
    uploadFile: (o) => uploadFile(core, o),
    downloadFile: (o) => downloadFile(core, o),
    connectSocket: (o) => connectSocket(core, o),
    async background(on: boolean) {
      const value = Boolean(on);
      if (value !== core.background) {
        core.background = value;
        clearTimeout(interruption);
        interruption = undefined;
        if (value) {
          const settings = await ready;
          // "小程序/小游戏进入后台运行后，如果 5s 内网络请求没有结束，会回调错误信息 fail interrupted"
          // (https://developers.weixin.qq.com/minigame/dev/guide/base-ability/network.html): the calls in flight or waiting then.
          if (core.background) {
            interruption = setTimeout(() => {
              interruption = undefined;
              for (const call of [...core.live]) call.interrupt();
            }, settings.platform.backgroundGraceMs);
            interruption.unref();
          }
        }
      }
      if (admin) await adminJson(admin, 'POST', '/api/background', { background: value });
    },
  };
}
