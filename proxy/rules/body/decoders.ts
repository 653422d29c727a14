/**
 * Content codings undone for reading a body as the game gets it (RFC 9110 §8.4.1): gzip (and
 * x-gzip), deflate, br. One list for the rules' streaming decoders and the HAR's whole-body one.
 */
import { createRequire } from 'node:module';
import type zlib from 'node:zlib';

/** Loaded by the first compressed body, not at start (docs/startup.md). */
let zlibModule: typeof zlib | undefined;
const z = () => (zlibModule ??= createRequire(import.meta.url)('node:zlib') as typeof zlib);

/** The coding, trimmed and lowercased; '' for none (or identity). */
function codingOf(contentEncoding: string | undefined): string {
  const coding = (contentEncoding ?? '').trim().toLowerCase();
  return coding === 'identity' ? '' : coding;
}

/** A streaming decoder for the coding; undefined when there is none to undo, null when unknown. */
export function decoderFor(contentEncoding: string | undefined): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined | null {
  switch (codingOf(contentEncoding)) {
    case '': return undefined;
    case 'gzip':
    case 'x-gzip': return z().createGunzip();
    case 'deflate': return z().createInflate();
    case 'br': return z().createBrotliDecompress();
    default: return null;
  }
}

/**
 * A whole body decoded, at most `maxOutputLength` bytes: the body, or `tooLarge`, or the error
 * that says why it stays encoded.
 */
export function decodeWhole(body: Buffer, contentEncoding: string | undefined, maxOutputLength: number): { body?: Buffer; tooLarge?: true; error?: string } {
  const coding = codingOf(contentEncoding);
  const opts = { maxOutputLength };
  try {
    switch (coding) {
      case '': return { body };
      case 'gzip':
      case 'x-gzip': return { body: z().gunzipSync(body, opts) };
      case 'deflate': return { body: z().inflateSync(body, opts) };
      case 'br': return { body: z().brotliDecompressSync(body, opts) };
      default: return { error: `content-encoding ${coding} is kept encoded` };
    }
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? { tooLarge: true } : { error: `cannot undo content-encoding ${coding}: ${(err as Error).message}` };
  }
}
