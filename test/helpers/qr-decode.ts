/**
 * Reads back a QR code the way a phone would, with a real decoder: zbar's `zbarimg` (Debian's
 * zbar-tools), installed by the test setup when it can be. A terminal drawing becomes a PBM picture first (two module rows
 * per text line); a picture file is decoded as it is.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureDebianTool } from './debian.js';
import { tempDir } from './proxy.js';

/** Undefined when zbarimg can be used (installed now if need be), else why not. */
export function zbarimgMissing(): string | undefined {
  const tool = ensureDebianTool('zbarimg', 'zbar-tools');
  return 'skip' in tool ? tool.skip : undefined;
}

/** The texts zbarimg finds in an image file. */
export function decodeImage(file: string): string[] {
  try {
    return execFileSync('zbarimg', ['-q', '--raw', file], { timeout: 30_000, stdio: ['ignore', 'pipe', 'ignore'] }).toString().split('\n').filter(Boolean);
  } catch {
    return []; // exit 4: nothing found
  }
}

/**
 * A terminal drawing (`█▀▄ ` lines) as a picture. `ansi`: black ink on white (escape codes
 * present); otherwise the drawn parts are the light modules (text on a dark terminal).
 */
export function terminalQrToPbm(drawing: string, ansi: boolean): string {
  // eslint-disable-next-line no-control-regex
  const lines = drawing.replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => /[█▀▄]/.test(l));
  const width = Math.max(...lines.map((l) => [...l].length));
  const SCALE = 6;
  const rows: number[][] = [];
  for (const line of lines) {
    const chars = [...line.padEnd(width, ' ')];
    const top = chars.map((c) => c === '█' || c === '▀');
    const bottom = chars.map((c) => c === '█' || c === '▄');
    for (const half of [top, bottom]) {
      const row = half.map((ink) => ((ansi ? ink : !ink) ? 1 : 0)); // PBM: 1 is black
      for (let i = 0; i < SCALE; i++) rows.push(row.flatMap((b) => Array<number>(SCALE).fill(b)));
    }
  }
  // A white margin, as a screen has around the drawing.
  const pad = 8 * SCALE;
  const w = width * SCALE + 2 * pad;
  const blank = Array<number>(w).fill(0);
  const body = [...Array<number[]>(pad).fill(blank), ...rows.map((r) => [...Array<number>(pad).fill(0), ...r, ...Array<number>(pad).fill(0)]), ...Array<number[]>(pad).fill(blank)];
  const file = path.join(tempDir('mgproxy-qr-'), 'qr.pbm');
  fs.writeFileSync(file, `P1\n${w} ${body.length}\n${body.map((r) => r.join(' ')).join('\n')}\n`);
  return file;
}
