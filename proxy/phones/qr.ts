/**
 * QR codes of the onboarding URL: inline SVG for the pages (drawn here, so nothing is fetched from
 * another origin) and half-block characters for the terminal. The `qrcode` package does the
 * encoding only (versions, masks, Reed-Solomon), which is where the subtle bugs would be.
 */
import { createRequire } from 'node:module';
import type QRCodeModule from 'qrcode';

// Loaded on the first code drawn: most runs draw none, and the package costs ~20 ms of every start.
let qrcode: typeof QRCodeModule | undefined;
const loadQrcode = () => (qrcode ??= createRequire(import.meta.url)('qrcode') as typeof QRCodeModule);

/** Light modules around the code; the standard asks for 4 (ISO/IEC 18004 §9.1), scanners manage with 2 on a screen. */
const QUIET_ZONE = 2;

/** Dark modules, row by row, with the quiet zone around: `dark(x, y)`. */
function matrix(text: string): { size: number; dark(x: number, y: number): boolean } {
  // M recovers from 15 % damage: enough for a screen, and the code stays small.
  const { modules } = loadQrcode().create(text, { errorCorrectionLevel: 'M' });
  const inner = modules.size;
  return {
    size: inner + 2 * QUIET_ZONE,
    dark: (x, y) => {
      const ix = x - QUIET_ZONE;
      const iy = y - QUIET_ZONE;
      return ix >= 0 && iy >= 0 && ix < inner && iy < inner && modules.get(iy, ix) === 1;
    },
  };
}

/** Drawn codes by text: a few LAN addresses in practice, bounded against odd Host headers. */
const svgCache = new Map<string, string>();
const MAX_CACHED = 32;

/** A self-contained `<svg>` element (no external references), labelled with its text. Memoised. */
export function qrSvg(text: string): string {
  let svg = svgCache.get(text);
  if (svg === undefined) {
    if (svgCache.size >= MAX_CACHED) svgCache.delete(svgCache.keys().next().value!);
    svg = drawSvg(text);
    svgCache.set(text, svg);
  }
  return svg;
}

function drawSvg(text: string): string {
  const m = matrix(text);
  let path = '';
  for (let y = 0; y < m.size; y++) {
    for (let x = 0; x < m.size;) {
      if (!m.dark(x, y)) { x++; continue; }
      let run = 1;
      while (x + run < m.size && m.dark(x + run, y)) run++;
      path += `M${x} ${y}h${run}v1h-${run}z`;
      x += run;
    }
  }
  const escaped = `QR code of ${text}`.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${m.size} ${m.size}" shape-rendering="crispEdges" role="img" aria-label="${escaped}">`
    + `<rect width="${m.size}" height="${m.size}" fill="#fff"/><path fill="#000" d="${path}"/></svg>`;
}

const RESET = '\x1b[0m';
const BLACK_ON_WHITE = '\x1b[30;47m';

/**
 * Two module rows per text line with the half blocks ▀ ▄ █. With `ansi`, dark modules are drawn
 * black on a white background, which scans on any terminal theme. Without (a log file, a pipe),
 * the light modules are the drawn ones, which scans on the usual light-on-dark terminal.
 */
export function qrTerminal(text: string, ansi: boolean): string {
  const m = matrix(text);
  const ink = (x: number, y: number) => y < m.size && (ansi ? m.dark(x, y) : !m.dark(x, y));
  const lines: string[] = [];
  for (let y = 0; y < m.size; y += 2) {
    let line = '';
    for (let x = 0; x < m.size; x++) {
      const top = ink(x, y);
      const bottom = ink(x, y + 1);
      line += top && bottom ? '█' : top ? '▀' : bottom ? '▄' : ' ';
    }
    lines.push(ansi ? `${BLACK_ON_WHITE}${line}${RESET}` : line);
  }
  return `${lines.join('\n')}\n`;
}
