/**
 * "Textual" has two purposes here, kept apart: `isTextual`, the content types whose bodies the
 * runtime hands the game as text (and so converts and strips a BOM from: the rules' question), and
 * `isReadableText`, the wider set a person reads as text (the HAR shows them as text when UTF-8).
 */

const TEXTUAL_TYPES = new Set(['application/json', 'application/javascript', 'application/ecmascript', 'application/xml', 'application/x-www-form-urlencoded']);

interface TypeInfo { textual: boolean; charset: string | undefined }

/**
 * What a Content-Type value says, read once per distinct value: a response's rules ask it several
 * times, and an upstream sends the same few values over and over. Bounded: past MAX_KNOWN
 * distinct values it starts afresh.
 */
const known = new Map<string, TypeInfo>();
const MAX_KNOWN = 256;
const NONE: TypeInfo = { textual: false, charset: undefined };

function infoOf(contentType: string | undefined): TypeInfo {
  if (contentType === undefined) return NONE;
  let info = known.get(contentType);
  if (info) return info;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  info = {
    textual: type.startsWith('text/') || type.endsWith('+json') || type.endsWith('+xml') || TEXTUAL_TYPES.has(type),
    charset: m ? m[1]!.toLowerCase() : undefined,
  };
  if (known.size >= MAX_KNOWN) known.clear();
  known.set(contentType, info);
  return info;
}

export function isTextual(contentType: string | undefined): boolean {
  return infoOf(contentType).textual;
}

/** The declared charset, lower-cased, or undefined. */
export function charsetOf(contentType: string | undefined): string | undefined {
  return infoOf(contentType).charset;
}

/** Types a person reads as text (or no type at all): the HAR shows such a body as text when it is UTF-8. */
const READABLE = /^(text\/|application\/(.+\+)?(json|xml|javascript|ecmascript|x-www-form-urlencoded|graphql|x-ndjson|yaml|x-yaml|csv)$|image\/svg\+xml$)/;

export function isReadableText(contentType: string | undefined): boolean {
  const mime = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  return mime === '' || READABLE.test(mime);
}
