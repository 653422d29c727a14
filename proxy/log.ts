/**
 * pino setup: JSON lines on stdout through an asynchronous destination (logging never blocks the
 * hot path), or human lines through pino-pretty with `--pretty` (the default on a TTY).
 */
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogHandle {
  log: Logger;
  /** Writes out what is buffered; call before exit. */
  flush(): void;
}

/**
 * `fd`: 1 (stdout, `mgproxy start`) or 2 (stderr, `mgproxy run`, whose stdout belongs to the
 * command it runs).
 */
export function createLogger(options: { level: LogLevel; pretty: boolean; fd?: 1 | 2 }): LogHandle {
  const fd = options.fd ?? 1;
  const base = { level: options.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  if (options.pretty) {
    // Required only for human output: JSON runs (CI, the tests) skip its ~20 ms of loading.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    const tty = Boolean((fd === 1 ? process.stdout : process.stderr).isTTY);
    const stream = pretty({ colorize: tty, translateTime: 'SYS:HH:MM:ss.l', sync: true, destination: fd });
    return { log: pino(base, stream), flush: () => undefined };
  }
  // Lines gather up to 4 KiB and go out in one write (a write per line was a tenth of the proxy's
  // CPU under load, issue 8); a line waits at most 50 ms.
  const dest = pino.destination({ dest: fd, sync: false, minLength: 4096, periodicFlush: 50 });
  return {
    log: pino(base, dest),
    flush: () => {
      try {
        dest.flushSync();
      } catch {
        // not ready yet or stdout closed: nothing more can be written
      }
    },
  };
}
