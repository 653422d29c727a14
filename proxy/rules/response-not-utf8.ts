/**
 * `response-not-utf8` (docs/rules.md, warning): "It is recommended that server return values use UTF-8
 * encoding. For non-UTF-8 encoding, the mini game will attempt to convert, but conversion may
 * fail." A textual response that declares another charset is flagged at its head; one that does
 * not is checked as it streams (decoded when content-encoded). downloadFile saves bytes to a file
 * and connectSocket frames carry their own types, so only request and uploadFile are checked.
 */
import type { Exchange } from '../flow/exchange.js';
import type { Rule } from './types.js';
import { charsetOf, isTextual } from './body/textual.js';
import { Utf8Check } from './body/utf8-check.js';

const UTF8 = new Set(['utf-8', 'utf8']);

export function responseNotUtf8(): Rule {
  const flagged = new WeakSet<Exchange>();
  return {
    ids: ['response-not-utf8'],
    appliesTo: ['request', 'uploadFile'],
    onResponseHead: (ex) => {
      const type = ex.responseHeaders?.['content-type'];
      const charset = charsetOf(type);
      if (!isTextual(type) || charset === undefined || UTF8.has(charset)) return undefined;
      flagged.add(ex);
      return { rule: 'response-not-utf8', severity: 'warning', message: `${type} is not UTF-8; the runtime will try to convert it and may fail` };
    },
    observeBody: (ex) => {
      if (flagged.has(ex) || !isTextual(ex.responseHeaders?.['content-type'])) return undefined;
      const check = new Utf8Check();
      return {
        write: (chunk) => check.write(chunk),
        end: () => (check.end() ? undefined : {
          rule: 'response-not-utf8', severity: 'warning',
          message: `the ${ex.responseHeaders?.['content-type']} body is not valid UTF-8; the runtime may fail to convert it`,
        }),
      };
    },
  };
}
