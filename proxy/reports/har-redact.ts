/**
 * HAR redaction (docs/har.md): the HAR a QA engineer attaches to a ticket must not carry the
 * session. As Chrome's sanitized HAR export does, the values of Cookie, Set-Cookie,
 * Authorization and Proxy-Authorization, and of every header or query parameter named in
 * `--har-redact` / `har.redact` (any case), become `[redacted]` wherever the entry shows them:
 * headers, `cookies`, `queryString`, `request.url`, URLs in headers (`redirectURL`, Location,
 * Referer), and the `_mgproxy` fields (an event's URL or message quoting them). Names stay, so
 * the reader still sees that a cookie or token was sent. Bodies are left as they were.
 */

export const REDACTED = '[redacted]';

/** Always redacted unless the HAR keeps secrets (`--har-secrets keep`). */
export const DEFAULT_REDACTED = ['cookie', 'set-cookie', 'authorization', 'proxy-authorization'] as const;

/** Headers whose value is a URL: its named query parameters are redacted like the request's. */
const URL_HEADERS = new Set(['location', 'content-location', 'referer']);

/** A value this short is not searched for in free text (`_mgproxy` messages): it would match anywhere. */
const MIN_SCRUB_LENGTH = 4;

interface NameValue { name: string; value: string }

/** One entry's redaction: what it replaced, so that the same values can be taken out of free text. */
class EntryRedaction {
  readonly secrets = new Set<string>();

  constructor(private readonly names: ReadonlySet<string>) {}

  private keep(value: string): void {
    if (value.length >= MIN_SCRUB_LENGTH) this.secrets.add(value);
  }

  /** A header list: named values redacted, the cookies and credentials in them remembered. */
  headers(list: NameValue[]): void {
    for (const h of list) {
      const lower = h.name.toLowerCase();
      if (this.names.has(lower)) {
        this.keep(h.value);
        if (lower === 'cookie') for (const pair of h.value.split(';')) this.keep(valueOf(pair));
        else if (lower === 'set-cookie') this.keep(valueOf(h.value.split(';')[0]!));
        else { const sp = h.value.indexOf(' '); if (sp > 0) this.keep(h.value.slice(sp + 1).trim()); }
        h.value = REDACTED;
      } else if (URL_HEADERS.has(lower)) h.value = this.url(h.value);
    }
  }

  /** `cookies` (request or response): every value, since Cookie and Set-Cookie are redacted. */
  cookies(list: { value: unknown }[]): void {
    for (const c of list) {
      if (typeof c.value === 'string') this.keep(c.value);
      c.value = REDACTED;
    }
  }

  queryString(list: NameValue[]): void {
    for (const q of list) {
      if (!this.names.has(q.name.toLowerCase())) continue;
      this.keep(q.value);
      q.value = REDACTED;
    }
  }

  /** A URL with the values of its named query parameters replaced, the rest byte for byte. */
  url(url: string): string {
    const q = url.indexOf('?');
    if (q < 0) return url;
    const hash = url.indexOf('#', q);
    const query = url.slice(q + 1, hash < 0 ? undefined : hash);
    const parts = query.split('&').map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0 || !this.names.has(decode(part.slice(0, eq)).toLowerCase())) return part;
      const raw = part.slice(eq + 1);
      this.keep(raw);
      this.keep(decode(raw));
      return `${part.slice(0, eq + 1)}${REDACTED}`;
    });
    return `${url.slice(0, q + 1)}${parts.join('&')}${hash < 0 ? '' : url.slice(hash)}`;
  }

  /** Free text (an event's message, a mapped URL): URLs in it redacted, then every remembered value. */
  text(text: string): string {
    let out = text.replace(/\b(?:https?|wss?):\/\/[^\s"'<>]+/g, (u) => this.url(u));
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  /** Every string in `value` (objects and arrays walked), through `text`. */
  deep(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.deep(v));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.deep(v)]));
    return value;
  }
}

function valueOf(pair: string): string {
  const eq = pair.indexOf('=');
  return eq < 0 ? '' : pair.slice(eq + 1).trim();
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** The shape of a HAR entry this module rewrites (proxy/reports/har.ts builds it). */
export interface RedactableEntry {
  request: Record<string, unknown> & { url: string; headers: NameValue[]; cookies: { value: unknown }[]; queryString: NameValue[] };
  response: { headers: NameValue[]; cookies: { value: unknown }[]; redirectURL: string };
  _mgproxy?: unknown;
}

export class HarRedactor {
  private readonly names: ReadonlySet<string>;

  /** `extra`: the `--har-redact` and `har.redact` names, added to the four always redacted. */
  constructor(extra: readonly string[] = []) {
    this.names = new Set([...DEFAULT_REDACTED, ...extra.map((n) => n.toLowerCase())]);
  }

  /** Rewrites `entry` in place. The request first: its values are the ones events and messages quote. */
  redact(entry: RedactableEntry): void {
    const r = new EntryRedaction(this.names);
    const { request, response } = entry;
    r.headers(request.headers);
    r.cookies(request.cookies);
    r.queryString(request.queryString);
    request.url = r.url(request.url);
    r.headers(response.headers);
    r.cookies(response.cookies);
    response.redirectURL = r.url(response.redirectURL);
    if (entry._mgproxy !== undefined) entry._mgproxy = r.deep(entry._mgproxy);
  }
}
