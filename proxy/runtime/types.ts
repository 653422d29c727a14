/**
 * The public shapes of `mgproxy/runtime` (docs/runtime.md): the options and results of the
 * mini-game network API as the platform's typings name them
 * (https://github.com/wechat-miniprogram/minigame-api-typings, `lib.wx.api.d.ts`).
 */
import type { Device, PlatformName } from '../../config/platforms.js';

export type { Device, PlatformName };

export interface RuntimeOptions {
  /** The proxy to go through, `http://host:port`; default `HTTPS_PROXY` (then `https_proxy`); none: direct. */
  proxy?: string;
  /** Certificates to trust (PEM), besides the system roots; default: the roots plus `NODE_EXTRA_CA_CERTS`. */
  ca?: string | string[];
  /** Whose rules and Referer; default: the proxy's deciding platform (from `MGPROXY_ADMIN`'s `/api/config`), else `tcsas`. */
  platform?: PlatformName;
  /** Default: the proxy's, else `touristappid`. */
  appid?: string;
  /** Default: the proxy's, else `"0"`. */
  version?: string;
  /** A game.json whose `networkTimeout` gives each API's default timeout; relative to the working directory. */
  gameJson?: string;
  /** Whose error texts: `android` (Cronet's, the default) or `ios`. */
  device?: Device;
  /** The proxy's admin URL; default `MGPROXY_ADMIN` (set by `mgproxy run`). */
  admin?: string;
}

export interface GeneralResult { errMsg: string }
export interface FailResult extends GeneralResult { errno?: number }

export interface Callbacks<T> {
  success?: (res: T) => void;
  fail?: (err: FailResult) => void;
  complete?: (res: T | FailResult) => void;
}

export type Headers = Record<string, string>;

/** `res.profile`: the timings the runtime can know, epoch milliseconds (0 when not applicable). */
export interface Profile {
  queueStart: number;
  queueEnd: number;
  fetchStart: number;
  requestStart: number;
  requestEnd: number;
  responseStart: number;
  responseEnd: number;
  protocol: 'http1.1';
  sendBytesCount: number;
  receivedBytedCount: number;
}

export interface RequestOptions extends Callbacks<RequestSuccess> {
  url: string;
  data?: string | ArrayBuffer | ArrayBufferView | Record<string, unknown> | unknown[] | null;
  header?: Headers;
  timeout?: number;
  method?: 'OPTIONS' | 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'TRACE' | 'CONNECT' | 'PATCH';
  dataType?: string;
  responseType?: 'text' | 'arraybuffer';
  enableChunked?: boolean;
}

export interface RequestSuccess extends GeneralResult {
  data: unknown;
  statusCode: number;
  header: Headers;
  cookies: string[];
  profile: Profile;
}

export interface HeadersReceived { header: Headers; statusCode: number; cookies: string[] }
export interface ChunkReceived { data: ArrayBuffer }

export interface RequestTask {
  abort(): void;
  onHeadersReceived(listener: (res: HeadersReceived) => void): void;
  offHeadersReceived(listener?: (res: HeadersReceived) => void): void;
  onChunkReceived(listener: (res: ChunkReceived) => void): void;
  offChunkReceived(listener?: (res: ChunkReceived) => void): void;
}

export interface UploadFileOptions extends Callbacks<UploadFileSuccess> {
  url: string;
  filePath: string;
  name: string;
  header?: Headers;
  formData?: Record<string, unknown>;
  timeout?: number;
}
export interface UploadFileSuccess extends GeneralResult { data: string; statusCode: number; profile: Profile }
export interface UploadProgress { progress: number; totalBytesSent: number; totalBytesExpectedToSend: number }
export interface UploadTask {
  abort(): void;
  onProgressUpdate(listener: (res: UploadProgress) => void): void;
  offProgressUpdate(listener?: (res: UploadProgress) => void): void;
  onHeadersReceived(listener: (res: HeadersReceived) => void): void;
  offHeadersReceived(listener?: (res: HeadersReceived) => void): void;
}

export interface DownloadFileOptions extends Callbacks<DownloadFileSuccess> {
  url: string;
  filePath?: string;
  header?: Headers;
  timeout?: number;
}
export interface DownloadFileSuccess extends GeneralResult { tempFilePath?: string; filePath?: string; statusCode: number; profile: Profile }
export interface DownloadProgress { progress: number; totalBytesWritten: number; totalBytesExpectedToWrite: number }
export interface DownloadTask {
  abort(): void;
  onProgressUpdate(listener: (res: DownloadProgress) => void): void;
  offProgressUpdate(listener?: (res: DownloadProgress) => void): void;
  onHeadersReceived(listener: (res: HeadersReceived) => void): void;
  offHeadersReceived(listener?: (res: HeadersReceived) => void): void;
}

export interface ConnectSocketOptions extends Callbacks<ConnectSocketSuccess> {
  url: string;
  header?: Headers;
  protocols?: string[];
  timeout?: number;
}
export interface ConnectSocketSuccess extends GeneralResult { socketTaskId: number }

export interface SocketTask {
  send(options: { data: string | ArrayBuffer | ArrayBufferView } & Callbacks<GeneralResult>): void;
  close(options?: { code?: number; reason?: string } & Callbacks<GeneralResult>): void;
  onOpen(listener: (res: { header: Headers; profile: Profile }) => void): void;
  onMessage(listener: (res: { data: string | ArrayBuffer }) => void): void;
  onClose(listener: (res: { code: number; reason: string }) => void): void;
  onError(listener: (res: FailResult) => void): void;
}

export interface Runtime {
  request(options: RequestOptions): RequestTask;
  uploadFile(options: UploadFileOptions): UploadTask;
  downloadFile(options: DownloadFileOptions): DownloadTask;
  connectSocket(options: ConnectSocketOptions): SocketTask;
  /** Into or out of the background; resolves once the proxy (when there is one) has switched too. */
  background(on: boolean): Promise<void>;
}
