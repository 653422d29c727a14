/**
 * One HTTP call of `request`, `uploadFile` or `downloadFile`, from the moment it is made to its one
 * outcome: wait for the settings, refuse at once in the background, wait for a slot of its API,
 * dispatch through undici with its timeout, turn the proxy's refusals and transport errors into
 * `fail`, and release the slot however it ended.
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Settle } from './callbacks.js';
import { type Core, headerObject, type LiveCall, timeoutFor } from './core.js';
import { type ApiName, failure, failureOfAnswer, failureOfError } from './errors.js';
import type { Settings } from './settings.js';
import type { FailResult, Headers, Profile } from './types.js';

/** A proxy answer is a small JSON object; more than this of it is not read. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface HttpSpec {
  api: ApiName;
  url: URL;
  method: string;
  /** The call's own `timeout`. */
  timeout: unknown;
  /** Built once the settings are known (the Referer depends on them). */
  headers(settings: Settings): Record<string, string>;
  body?: () => string | Buffer | Readable | null;
}

export interface HttpHooks<T> {
  onHeaders?(statusCode: number, header: Headers, cookies: string[]): void;
  onData(chunk: Buffer, controller: Dispatcher.DispatchController): void;
  /** The result for `success`; rejects to fail the call with that FailResult. */
  onEnd(statusCode: number, header: Headers, cookies: string[], profile: Profile): Promise<T> | T;
  /** The call failed or was aborted: undo what was started (a half-written file). */
  onFail?(): void;
}

export function emptyProfile(): Profile {
  return {
    queueStart: 0, queueEnd: 0, fetchStart: 0, requestStart: 0, requestEnd: 0, responseStart: 0, responseEnd: 0,
    protocol: 'http1.1', sendBytesCount: 0, receivedBytedCount: 0,
  };
}

export interface HttpHandle {
  /** `task.abort()`: fails with `<api>:fail abort` unless the call already ended. */
  abort(): void;
}

export function runHttp<T>(core: Core, settle: Settle<T>, spec: HttpSpec, hooks: HttpHooks<T>): HttpHandle {
  const { api } = spec;
  const profile = emptyProfile();
  let stage: 'waiting' | 'running' | 'done' = 'waiting';
  let settings: Settings | undefined;
  let controller: Dispatcher.DispatchController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let holdsSlot = false;
  let waiter: { host: string; start(): void } | undefined;

  const end = () => {
    if (stage === 'done') return false;
    stage = 'done';
    clearTimeout(timer);
    core.live.delete(live);
    if (settings && waiter) settings.slots[api].leave(waiter);
    if (settings && holdsSlot) settings.slots[api].release(spec.url.host);
    return true;
  };
  const failWith = (err: FailResult) => {
    if (!end()) return;
    controller?.abort(new Error(err.errMsg));
    hooks.onFail?.();
    settle.fail(err);
  };
  const live: LiveCall = { interrupt: () => failWith(failure(api, settings!.platform.backgroundReason)) };

  const run = () => {
    stage = 'running';
    profile.fetchStart = Date.now();
    timer = setTimeout(() => failWith(failure(api, 'timeout')), timeoutFor(core, api, spec.timeout));
    let headers: Record<string, string>;
    let body: string | Buffer | Readable | null;
    try {
      headers = spec.headers(settings!);
      body = spec.body?.() ?? null;
      if (typeof body === 'string' || Buffer.isBuffer(body)) profile.sendBytesCount = Buffer.byteLength(body);
    } catch (err) {
      failWith({ errMsg: `${api}:fail ${(err as Error).message}` });
      return;
    }
    let status = 0;
    let answer: { headers: Record<string, string | string[] | undefined>; chunks: Buffer[]; size: number } | undefined;
    let resHeader: Headers = {};
    let cookies: string[] = [];
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(ctl) {
        controller = ctl;
        if (stage === 'done') ctl.abort(new Error('ended before it was sent'));
        profile.requestStart = Date.now();
      },
      onResponseStart(ctl, statusCode, parsed) {
        if (stage === 'done') return;
        profile.responseStart = profile.requestEnd = Date.now();
        status = statusCode;
        if (parsed['x-mgproxy-rule'] !== undefined || parsed['x-mgproxy-error'] !== undefined) {
          answer = { headers: parsed, chunks: [], size: 0 };
          return;
        }
        ({ header: resHeader, cookies } = headerObject(ctl.rawHeaders as (Buffer | string)[] | null));
        hooks.onHeaders?.(statusCode, resHeader, cookies);
      },
      onResponseData(ctl, chunk) {
        if (stage === 'done') return;
        profile.receivedBytedCount += chunk.length;
        if (answer) {
          if (answer.size < MAX_ANSWER_BYTES) { answer.chunks.push(chunk); answer.size += chunk.length; }
          return;
        }
        hooks.onData(chunk, ctl);
      },
      onResponseEnd() {
        if (stage === 'done') return;
        profile.responseEnd = Date.now();
        if (answer) {
          const body = Buffer.concat(answer.chunks).toString('utf8');
          failWith(failureOfAnswer(api, answer.headers, body, core.device) ?? failure(api, 'fail'));
          return;
        }
        Promise.resolve()
          .then(() => hooks.onEnd(status, resHeader, cookies, profile))
          .then((res) => { if (end()) settle.succeed(res); }, (err: FailResult) => failWith(err));
      },
      onResponseError(_ctl, err) {
        if (stage === 'done') return;
        // In the background the proxy cuts what it interrupts once the answer has begun: that cut is the interruption.
        failWith(core.background ? failure(api, settings!.platform.backgroundReason) : failureOfError(api, err, core.device));
      },
    };
    try {
      core.dispatcher.dispatch({
        origin: spec.url.origin, path: `${spec.url.pathname}${spec.url.search}`, method: spec.method, headers, body,
      }, handler);
    } catch (err) {
      failWith(failureOfError(api, err, core.device));
    }
  };

  core.ready.then((s) => {
    settings = s;
    if (stage === 'done') return;
    if (core.background) { failWith(failure(api, s.platform.backgroundReason)); return; }
    core.live.add(live);
    const queuedAt = Date.now();
    let queued = false;
    waiter = {
      host: spec.url.host,
      start: () => {
        waiter = undefined;
        holdsSlot = true;
        if (stage === 'done') { s.slots[api].release(spec.url.host); holdsSlot = false; return; }
        // "queueStart/queueEnd: 达到并行上限时才需要排队" (minigame-api-typings): set only for a call that waited.
        if (queued) { profile.queueStart = queuedAt; profile.queueEnd = Date.now(); }
        run();
      },
    };
    queued = s.slots[api].enter(waiter);
  }, (err: Error) => failWith({ errMsg: `${api}:fail ${err.message}` }));

  return { abort: () => failWith({ errMsg: `${api}:fail abort` }) };
}
