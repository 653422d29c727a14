/** Content types whose bodies the runtime hands the game as text (and so converts and strips a BOM from). */

export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

export function isTextual(contentType: string | undefined): boolean {
  const type = mediaTypeOf(contentType);
  return type.startsWith('text/')
    || type.endsWith('+json') || type.endsWith('+xml')
    || ['application/json', 'application/javascript', 'application/ecmascript', 'application/xml', 'application/x-www-form-urlencoded'].includes(type);
}

/** The declared charset, lower-cased, or undefined. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return m ? m[1]!.toLowerCase() : undefined;
}
