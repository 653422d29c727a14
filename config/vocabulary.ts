/**
 * The words every part of mgproxy shares (docs/rules.md, docs/tls-audit.md): the runtime's APIs, severities, rule
 * ids and the actions a violation can carry. A leaf module that imports nothing, so that config/,
 * certs/ and proxy/ can all use it without importing one another.
 */

/** The four network APIs of the mini-game runtime. */
export type Api = 'request' | 'uploadFile' | 'downloadFile' | 'connectSocket';
export const APIS: readonly Api[] = ['request', 'uploadFile', 'downloadFile', 'connectSocket'];

export type Severity = 'info' | 'warning' | 'error';

/** Every id a request-bound violation can carry (docs/rules.md, docs/platforms.md). */
export const REQUEST_RULE_IDS = [
  'insecure-scheme', 'domain-not-allowed', 'ip-not-allowed', 'referer-mismatch', 'concurrency-queued',
  'concurrency-exceeded',
  'timeout', 'background-interrupted', 'background-call', 'response-not-utf8', 'response-multiple-bom',
  'http-error-status', 'port-not-allowed', 'host-refused',
] as const;
/** Every id a per-host TLS finding can carry (docs/tls-audit.md). */
export const TLS_RULE_IDS = [
  'tls-untrusted', 'tls-self-signed', 'tls-chain-incomplete', 'tls-expired', 'tls-not-yet-valid',
  'tls-hostname-mismatch', 'tls-no-tls12', 'tls-unreachable', 'ats-weak-protocol', 'ats-no-forward-secrecy',
  'ats-weak-signature', 'ats-weak-key',
] as const;
export type RequestRuleId = (typeof REQUEST_RULE_IDS)[number];
export type TlsRuleId = (typeof TLS_RULE_IDS)[number];
export type RuleId = RequestRuleId | TlsRuleId;

/** docs/rules.md: what happened to the exchange because of the violation. */
export type Action = 'blocked' | 'reported' | 'rewritten' | 'queued' | 'cut';
