/**
 * `decide()` (proxy/rules/pipeline.ts), in process: the one reader of the mode, as a table of
 * finding × phase × situation → action (docs/rules.md `action`, docs/platforms.md). The real-socket test of each
 * rule (test/rules/<rule-id>.test.ts) checks the same actions end to end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REQUEST_RULE_IDS } from '../../config/vocabulary.js';
import { ANSWERS, ruleAnswer } from '../../proxy/flow/respond.js';
import { decide, decision, type Phase, type Situation } from '../../proxy/rules/pipeline.js';
import type { Finding, HostFinding } from '../../proxy/rules/types.js';

const enforce: Situation = { mode: 'enforce', platform: 'tcsas', answerable: true };
const report: Situation = { ...enforce, mode: 'report' };
const sent: Situation = { ...enforce, answerable: false };

const error: Finding = { rule: 'domain-not-allowed', severity: 'error', message: 'm' };
const warning: Finding = { rule: 'response-not-utf8', severity: 'warning', message: 'm' };
const info: Finding = { rule: 'http-error-status', severity: 'info', message: 'm' };
const rewritten: Finding = { rule: 'referer-mismatch', severity: 'warning', message: 'm', rewritten: true };
const queueable: Finding = { rule: 'concurrency-queued', severity: 'info', message: 'm', hold: () => Promise.resolve() };
const queueableLater: Finding = { ...queueable, platforms: ['wechat'] };
const laterPlatform: Finding = { ...error, rule: 'host-refused', platforms: ['wechat'] };
const firstPlatform: Finding = { ...error, rule: 'host-refused', platforms: ['tcsas', 'wechat'] };
const timeout: Finding = { rule: 'timeout', severity: 'error', message: 'm' };
const interruption: Finding = { rule: 'background-interrupted', severity: 'error', message: 'm', interrupts: true };
const tlsError: HostFinding = { rule: 'tls-expired', severity: 'error', message: 'm', host: 'h.example.test', port: 443 };
const tlsWarning: HostFinding = { ...tlsError, rule: 'tls-no-tls12', severity: 'warning' };

const TABLE: [string, Finding | HostFinding, Phase, Situation, string][] = [
  ['an error before the upstream, enforce', error, 'request', enforce, 'blocked'],
  ['an error before the upstream, report', error, 'request', report, 'reported'],
  ['an error from the host alone at the tunnel', error, 'tunnel', enforce, 'blocked'],
  ['the same at the tunnel in report mode', error, 'tunnel', report, 'reported'],
  ['a warning never blocks', warning, 'request', enforce, 'reported'],
  ['info never blocks', info, 'response', enforce, 'reported'],
  ['a rewrite, enforce', rewritten, 'request', enforce, 'rewritten'],
  ['a rewrite, report', rewritten, 'request', report, 'rewritten'],
  ['over the cap with overflow queue', queueable, 'request', enforce, 'queued'],
  ['over the cap with overflow queue, report (forwarded without waiting)', queueable, 'request', report, 'reported'],
  ['over a later platform\'s cap only, overflow queue', queueableLater, 'request', enforce, 'reported'],
  ['only a later platform forbids it', laterPlatform, 'request', enforce, 'reported'],
  ['the first platform forbids it', firstPlatform, 'request', enforce, 'blocked'],
  ['an error at the response head', error, 'response', enforce, 'blocked'],
  ['an error once the body has gone', error, 'body', enforce, 'reported'],
  ['a timer, nothing sent yet', timeout, 'timer', enforce, 'blocked'],
  ['a timer, the response under way', timeout, 'timer', sent, 'cut'],
  ['a timer in report mode', timeout, 'timer', report, 'reported'],
  ['an interruption, nothing sent yet (answered 503, still cut)', interruption, 'timer', enforce, 'cut'],
  ['an interruption, the response under way', interruption, 'timer', sent, 'cut'],
  ['an interruption in report mode', interruption, 'timer', report, 'reported'],
  ['a TLS error of a host, enforce', tlsError, 'host', enforce, 'blocked'],
  ['a TLS error of a host, report', tlsError, 'host', report, 'reported'],
  ['a TLS warning of a host', tlsWarning, 'host', enforce, 'reported'],
  ['a TLS error answering a request', tlsError, 'request', enforce, 'blocked'],
];

describe('decide: finding × phase × mode → action', () => {
  for (const [name, finding, phase, at, want] of TABLE) {
    it(`${name}: ${want}`, () => assert.equal(decide(finding, phase, at), want));
  }
});

/** How each stops its exchange: decision() chooses the answer too, nothing else does. */
const STOPS: [string, Finding | HostFinding, Phase, Situation, 'answer' | 'cut' | undefined][] = [
  ['an error before the upstream', error, 'request', enforce, 'answer'],
  ['over the cap with overflow queue', queueable, 'request', enforce, undefined],
  ['a warning', warning, 'response', enforce, undefined],
  ['a timer, nothing sent yet', timeout, 'timer', enforce, 'answer'],
  ['a timer, the response under way', timeout, 'timer', sent, 'cut'],
  // docs/rules.md: background-interrupted is recorded `cut`, and answered 503 while nothing was sent.
  ['an interruption, nothing sent yet', interruption, 'timer', enforce, 'answer'],
  ['an interruption, the response under way', interruption, 'timer', sent, 'cut'],
  ['an interruption in report mode', interruption, 'timer', report, undefined],
];

describe('decision: how the exchange is stopped', () => {
  for (const [name, finding, phase, at, want] of STOPS) {
    it(`${name}: ${want ?? 'goes on'}`, () => assert.equal(decision(finding, phase, at).stop, want));
  }
});

describe('the answer table (respond.ts ANSWERS, docs/rules.md status codes and errMsg reasons)', () => {
  const cases: [Finding['rule'], number, string][] = [
    ['domain-not-allowed', 403, 'request:fail url not in domain list'],
    ['insecure-scheme', 403, 'request:fail url not in domain list'],
    ['ip-not-allowed', 403, 'request:fail url not in domain list'],
    ['background-call', 403, 'request:fail interrupted'],
    ['background-interrupted', 503, 'request:fail interrupted'],
    ['concurrency-exceeded', 429, 'request:fail exceed max task count'],
    ['timeout', 504, 'request:fail timeout'],
    ['tls-expired', 502, 'request:fail ssl hand shake error'],
  ];
  for (const [rule, status, errMsg] of cases) {
    it(`${rule}: ${status} ${errMsg}`, () => {
      const a = ruleAnswer('request', rule, 'm');
      assert.equal(a.status, status);
      assert.equal(a.headers['x-mgproxy-rule'], rule);
      assert.equal((JSON.parse(a.body) as { errMsg: string }).errMsg, errMsg);
    });
  }
  it('a platform wording replaces the reason (docs/platforms.md)', () => {
    assert.equal((JSON.parse(ruleAnswer('request', 'background-call', 'm', 'app in background').body) as { errMsg: string }).errMsg, 'request:fail app in background');
  });
  it('has a row for every request rule id, and an answer for every error rule', () => {
    assert.deepEqual(Object.keys(ANSWERS).sort(), [...REQUEST_RULE_IDS].sort());
    for (const id of ['insecure-scheme', 'domain-not-allowed', 'ip-not-allowed', 'port-not-allowed', 'host-refused', 'background-call', 'background-interrupted', 'concurrency-exceeded', 'timeout'] as const) {
      assert.ok(ANSWERS[id], id);
    }
  });
});
