/**
 * pino setup: JSON lines through an asynchronous destination (logging never blocks the hot path),
 * human lines through pino-pretty with `--pretty` (the default of `start` on a TTY), or the CI
 * lines of `mgproxy run` (`--log-format human`, its default: proxy/reports/ci-lines.ts).
 */
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import { humanLogLine, wantsColor } from './reports/ci-lines.js';
import { LogSink } from './log-sink.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `mgproxy run --log-format`: human lines for people reading a CI log, or pino's JSON lines. */
export const LOG_FORMATS = ['human', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The `msg` of the line an uncaught exception leaves (commands/start.ts); a test that shows one fails (test/helpers/proxy.ts). */
export const INTERNAL_ERROR = 'internal error (please report it)';

export interface LogHandle {
  log: Logger;
  /** Writes out what is buffered; call before exit. */
  flush(): void;
}

/**
 * `fd`: 1 (stdout, `mgproxy start`) or 2 (stderr, `mgproxy run`, whose stdout belongs to the
 * command it runs). `format` wins over `pretty` when given.
 */
export function createLogger(options: { level: LogLevel; pretty: boolean; fd?: 1 | 2; format?: LogFormat }): LogHandle {
  const fd = options.fd ?? 1;
  const out = fd === 1 ? process.stdout : process.stderr;
  const base = { level: options.level, base: undefined, timestamp: isoTimeField };
  if (options.format === 'human') {
    // Written at once, in order with the lines `run` writes itself and with the annotations:
    // at run's default level (warn) these are the violations, a handful per run.
    const dest = pino.destination({ dest: fd, sync: true });
    const color = wantsColor(out);
    return { log: pino(base, { write: (line: string) => dest.write(humanLogLine(line, color)) }), flush: () => undefined };
  }
  if (options.pretty && options.format !== 'json') {
    // Required only for human output: JSON runs (CI, the tests) skip its ~20 ms of loading.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    const stream = pretty({ colorize: wantsColor(out), translateTime: 'SYS:HH:MM:ss.l', sync: true, destination: fd });
    return { log: pino(base, stream), flush: () => undefined };
  }
  // Lines gather in a buffer and go out in one asynchronous write, 50 ms after the first at most
  // (proxy/log-sink.ts); the exchange line is written there from its template (proxy/engine/exchange-line.ts).
  const sink = new LogSink(fd);
  const log = pino(base, sink);
  RAW_LINES.set(log, (line) => sink.write(line));
  return {
    log,
    flush: () => {
      try {
        sink.flushSync();
      } catch {
        // stdout closed: nothing more can be written
      }
    },
  };
}

/**
 * The current time as pino's `isoTime` writes it, formatted once per millisecond: under load many
 * lines share a millisecond, and `toISOString` was a visible share of each line's cost.
 */
let lastMs = -1;
let lastIso = '';
let lastSecond = -1;
/** `YYYY-MM-DDTHH:MM:SS.` of the current second. */
let secondPrefix = '';
export function isoNow(): string {
  const now = Date.now();
  if (now === lastMs) return lastIso;
  const second = Math.floor(now / 1000);
  if (second !== lastSecond) { lastSecond = second; secondPrefix = new Date(second * 1000).toISOString().slice(0, 20); }
  const ms = now - second * 1000;
  lastMs = now;
  lastIso = `${secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
  return lastIso;
}

const isoTimeField = () => `,"time":"${isoNow()}"`;

/** Loggers whose lines are pino's JSON in a LogSink: a line written here lands among theirs, in order. */
const RAW_LINES = new WeakMap<Logger, (line: string) => void>();

/**
 * Where a line already in pino's JSON format can be written straight, beside the logger's own:
 * undefined for human and pretty output, and for loggers made elsewhere (tests), which then log
 * through pino.
 */
export function rawLineWriter(log: Logger): ((line: string) => void) | undefined {
  return RAW_LINES.get(log);
}
