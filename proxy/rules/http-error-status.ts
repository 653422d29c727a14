/**
 * `http-error-status` (docs/rules.md, info): "As long as the server response is received, the success
 * callback will be triggered regardless of the statusCode": the game must check it.
 */
import type { Rule } from './types.js';

export function httpErrorStatus(): Rule {
  return {
    ids: ['http-error-status'],
    appliesTo: ['request', 'uploadFile', 'downloadFile'],
    onResponseHead: (ex) => (ex.status !== undefined && ex.status >= 400
      ? { rule: 'http-error-status', severity: 'info', message: `the upstream answered ${ex.status}; the game's success callback still fires, so it must check statusCode` }
      : undefined),
  };
}
