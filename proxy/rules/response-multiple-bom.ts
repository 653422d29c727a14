/**
 * `response-multiple-bom` (docs/rules.md, warning): "The mini game will automatically filter out the BOM
 * header (only one BOM header is filtered)": a body that starts with two leaves one in the data.
 * Only the first bytes are looked at; the data handed to the game (request, uploadFile) counts.
 */
import type { Rule } from './types.js';

const BOM = [0xef, 0xbb, 0xbf];
/** Enough to count a few BOMs; the rest of the body is not looked at. */
const LOOK = 12;

export function responseMultipleBom(): Rule {
  return {
    ids: ['response-multiple-bom'],
    appliesTo: ['request', 'uploadFile'],
    observeBody: () => {
      const head: number[] = [];
      return {
        write: (chunk) => {
          for (let i = 0; i < chunk.length && head.length < LOOK; i++) head.push(chunk[i]!);
        },
        end: () => {
          let boms = 0;
          while (boms * 3 + 3 <= head.length && BOM.every((b, i) => head[boms * 3 + i] === b)) boms++;
          return boms > 1
            ? { rule: 'response-multiple-bom', severity: 'warning', message: `the body starts with ${boms === LOOK / 3 ? 'at least ' : ''}${boms} UTF-8 BOMs; the runtime strips only one` }
            : undefined;
        },
      };
    },
  };
}
