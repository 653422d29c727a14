/**
 * What a failed call tells the game: `errMsg` and `errno`, in the device's words
 * (docs/runtime.md "Errors"). errno values: the platform's error code list,
 * https://developers.weixin.qq.com/minigame/dev/guide/runtime/debug/PublicErrno.html.
 * Transport errors use Chromium's net error names and codes, which Android's Cronet reports
 * (https://source.chromium.org/chromium/chromium/src/+/main:net/base/net_error_list.h).
 */
import type { Device } from '../../config/platforms.js';
import type { FailResult } from './types.js';

export type ApiName = 'request' | 'uploadFile' | 'downloadFile' | 'connectSocket';

/** errno per errMsg reason of the proxy's refusals (the same reasons a device gives). */
const ERRNO_OF_REASON: Readonly<Record<string, number>> = {
  'url not in domain list': 600002,
  'exceed max task count': 600007,
  timeout: 5,
  interrupted: 600003,
  'app in background': 600003,
  'ssl hand shake error': 600001,
};

export const errnoOf = (reason: string): number | undefined => ERRNO_OF_REASON[reason];

export function failure(api: ApiName, reason: string): FailResult {
  const errno = errnoOf(reason);
  return errno === undefined ? { errMsg: `${api}:fail ${reason}` } : { errMsg: `${api}:fail ${reason}`, errno };
}

/** Chromium's net error for a system error code (as Chromium's own posix mapping, net/base/net_errors_posix.cc). */
const NET_ERRORS: Readonly<Record<string, [number, string]>> = {
  ECONNREFUSED: [-102, 'ERR_CONNECTION_REFUSED'],
  ENOTFOUND: [-105, 'ERR_NAME_NOT_RESOLVED'],
  EAI_AGAIN: [-105, 'ERR_NAME_NOT_RESOLVED'],
  ECONNRESET: [-101, 'ERR_CONNECTION_RESET'],
  EPIPE: [-101, 'ERR_CONNECTION_RESET'],
  ECONNABORTED: [-103, 'ERR_CONNECTION_ABORTED'],
  ENETUNREACH: [-106, 'ERR_INTERNET_DISCONNECTED'],
  EHOSTUNREACH: [-109, 'ERR_ADDRESS_UNREACHABLE'],
  ETIMEDOUT: [-118, 'ERR_CONNECTION_TIMED_OUT'],
  UND_ERR_CONNECT_TIMEOUT: [-118, 'ERR_CONNECTION_TIMED_OUT'],
  UND_ERR_SOCKET: [-101, 'ERR_CONNECTION_RESET'],
  UND_ERR_CLOSED: [-100, 'ERR_CONNECTION_CLOSED'],
};
const FAILED: [number, string] = [-2, 'ERR_FAILED'];

/**
 * The errMsg of a transport failure: Android (Cronet) `<api>:fail errcode:-102 cronet_error_code:-102
 * error_msg:net::ERR_CONNECTION_REFUSED`; iOS `<api>:fail net::ERR_CONNECTION_REFUSED`. errno 600001.
 */
export function transportFailure(api: ApiName, code: string, device: Device): FailResult {
  const [n, name] = NET_ERRORS[code.toUpperCase()] ?? FAILED;
  const errMsg = device === 'ios' ? `${api}:fail net::${name}` : `${api}:fail errcode:${n} cronet_error_code:${n} error_msg:net::${name}`;
  return { errMsg, errno: 600001 };
}

/** The system code inside an error from undici, ws, net or tls (undici wraps the socket's error). */
export function codeOf(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } } | undefined;
  const own = e?.code ?? '';
  if ((own === '' || own.startsWith('UND_ERR_')) && e?.cause?.code) return e.cause.code;
  return own;
}

const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME|EPROTO/;

/** Any error that ended a call before a response: TLS ones as the runtime's handshake error, the rest as Cronet's. */
export function failureOfError(api: ApiName, err: unknown, device: Device): FailResult {
  const code = codeOf(err);
  if (TLS_CODE.test(code)) return failure(api, 'ssl hand shake error');
  return transportFailure(api, code, device);
}

/**
 * The proxy's own answer (docs/runtime.md "Refusals"): `x-mgproxy-rule` (a rule refused the call)
 * carries the errMsg to give; `x-mgproxy-error` (the proxy could not reach the upstream) carries the
 * system error in its reason (`econnrefused`…), given in Cronet's words like a direct failure.
 */
export function failureOfAnswer(api: ApiName, headers: Record<string, string | string[] | undefined>, body: string, device: Device): FailResult | undefined {
  const rule = headers['x-mgproxy-rule'];
  const error = headers['x-mgproxy-error'];
  if (rule === undefined && error === undefined) return undefined;
  let errMsg: string | undefined;
  try {
    const parsed = JSON.parse(body) as { errMsg?: unknown };
    if (typeof parsed.errMsg === 'string') errMsg = parsed.errMsg;
  } catch { /* a proxy answer is JSON; anything else falls through to the generic texts */ }
  const reason = errMsg?.replace(/^[A-Za-z]+:fail /, '') ?? '';
  if (rule !== undefined) {
    const errno = errnoOf(reason);
    const shown = errMsg !== undefined ? `${api}:fail ${reason}` : `${api}:fail`;
    return errno === undefined ? { errMsg: shown } : { errMsg: shown, errno };
  }
  if (error === 'upstream-tls') return failure(api, 'ssl hand shake error');
  if (error === 'loop') return failure(api, 'url not in domain list');
  return transportFailure(api, reason || 'ECONNRESET', device);
}

/** errno of a call whose URL the runtime refuses before sending anything (invalid url, wrong scheme). */
const ERRNO_BAD_URL = 600009;

/**
 * The call's URL, parsed and its scheme checked as the runtime does before any request: throws
 * `Error` with the runtime's text for a wrong scheme, `TypeError` for a string that is no URL.
 */
export function callUrl(raw: unknown, socket = false): URL {
  const url = new URL(String(raw));
  if (socket ? url.protocol !== 'wss:' && url.protocol !== 'ws:' : url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(socket ? 'url scheme must be wss or ws' : 'request protocol must be http or https');
  }
  return url;
}

/** The `fail` result of a call whose URL `callUrl` refused. */
export function badUrlFailure(api: ApiName, err: unknown): FailResult {
  return { errMsg: `${api}:fail ${err instanceof TypeError ? 'invalid url' : (err as Error).message}`, errno: ERRNO_BAD_URL };
}
