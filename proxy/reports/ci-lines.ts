/**
 * The human lines of `mgproxy run` (docs/ci.md): what a person skimming a CI log reads. One line per
 * violation, `mgproxy: <severity> <rule> <METHOD> <URL> — <message>` (per-host TLS findings have
 * no request: `<host>:<port>` stands where `<METHOD> <URL>` would), and every other log line as
 * `mgproxy: <level> <msg> (key=value …)`. Colour only when asked (a terminal without NO_COLOR).
 */
import type { Violation } from '../flow/events.js';
import { violationTarget } from './junit.js';

/** https://no-color.org: a NO_COLOR that is present and not empty turns colour off. */
export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR;
}

const SGR = { red: 31, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;
type Paint = (code: keyof typeof SGR, text: string) => string;
const painter = (color: boolean): Paint => (color ? (code, text) => `\x1b[${SGR[code]}m${text}\x1b[0m` : (_code, text) => text);

const LEVEL_WORDS: Readonly<Record<number, string>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };
const WORD_COLOR: Readonly<Record<string, keyof typeof SGR>> = { fatal: 'red', error: 'red', warning: 'yellow', info: 'cyan', debug: 'dim', trace: 'dim' };

/** One line, whatever it quotes: CR and LF (only ever inside a message or a client's URL) are shown escaped. */
const oneLine = (s: string) => s.replace(/\r/g, '\\r').replace(/\n/g, '\\n');

/** `mgproxy: error domain-not-allowed GET https://evil.example.net/x — evil.example.net is not in domains.request` */
export function violationLine(v: Pick<Violation, 'severity' | 'rule' | 'method' | 'url' | 'host' | 'port' | 'message'>, color = false): string {
  const paint = painter(color);
  return `mgproxy: ${paint(WORD_COLOR[v.severity] ?? 'cyan', v.severity)} ${paint('bold', v.rule)} ${oneLine(violationTarget(v as Violation))} — ${oneLine(v.message)}\n`;
}

/** `a.b=c` pairs of a log object's fields, nested objects flattened, stacks left for the lines below. */
function details(fields: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || (prefix === 'error.' && k === 'stack')) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...details(v as Record<string, unknown>, `${prefix}${k}.`));
    else out.push(`${prefix}${k}=${oneLine(typeof v === 'string' ? v : JSON.stringify(v))}`);
  }
  return out;
}

/**
 * A pino line (the JSON text pino serialised) as the human line `run` prints. `exchange` lines
 * (at `--log-level info`) lead with what was asked and how it ended.
 */
export function humanLogLine(json: string, color = false): string {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const { level, time: _time, msg, ...fields } = obj;
  if (msg === 'violation' && typeof fields.rule === 'string' && typeof fields.message === 'string') return violationLine(fields as unknown as Violation, color);
  const paint = painter(color);
  const word = LEVEL_WORDS[Number(level)] ?? String(level);
  let head = `mgproxy: ${paint(WORD_COLOR[word] ?? 'cyan', word)} ${oneLine(String(msg ?? ''))}`;
  if (msg === 'exchange') {
    const { method, url, status, outcome, durationMs, ...rest } = fields;
    head += ` ${String(method)} ${oneLine(String(url))} ${status ?? '-'} ${String(outcome)} ${String(durationMs)} ms`;
    for (const k of Object.keys(fields)) if (!(k in rest)) delete fields[k];
  }
  const pairs = details(fields);
  const stack = (fields.error as { stack?: unknown } | undefined)?.stack;
  const below = typeof stack === 'string' ? stack.split('\n').slice(1).map((l) => `    ${l.trim()}\n`).join('') : '';
  return `${head}${pairs.length > 0 ? ` (${pairs.join(' ')})` : ''}\n${below}`;
}
