/**
 * Content codings undone for reading a body as the game gets it (RFC 9110 §8.4.1): gzip (and
 * x-gzip), deflate, br. One list for the rules' streaming decoders and the HAR's whole-body one.
 */
import zlib from 'node:zlib';

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
    case 'x-gzip': return zlib.createGunzip();
    case 'deflate': return zlib.createInflate();
    case 'br': return zlib.createBrotliDecompress();
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
      case 'x-gzip': return { body: zlib.gunzipSync(body, opts) };
      case 'deflate': return { body: zlib.inflateSync(body, opts) };
      case 'br': return { body: zlib.brotliDecompressSync(body, opts) };
      default: return { error: `content-encoding ${coding} is kept encoded` };
    }
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? { tooLarge: true } : { error: `cannot undo content-encoding ${coding}: ${(err as Error).message}` };
  }
}
