/**
 * pino setup: JSON lines on stdout through an asynchronous destination (logging never blocks the
 * hot path), or human lines through pino-pretty with `--pretty` (the default on a TTY).
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogHandle {
  log: Logger;
  /** Writes out what is buffered; call before exit. */
  flush(): void;
}

export function createLogger(options: { level: LogLevel; pretty: boolean }): LogHandle {
  const base = { level: options.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  if (options.pretty) {
    const stream = pretty({ colorize: Boolean(process.stdout.isTTY), translateTime: 'SYS:HH:MM:ss.l', sync: true });
    return { log: pino(base, stream), flush: () => undefined };
  }
  const dest = pino.destination({ dest: 1, sync: false, minLength: 0 });
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
