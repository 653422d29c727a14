/**
 * The Exchange's one state (proxy/flow/exchange.ts, docs/architecture.md), in process: every move from each
 * state, allowed or refused, on a real Exchange; what "answerable" means in each; and that the
 * proxy's own answer is given once, only while nothing was sent. The real-socket tests (timeout,
 * background-interrupted, faults, websocket) check the same states end to end.
 */
import assert from 'node:assert/strict';
import { type IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { Exchange, type ExchangeEnv, type ExchangeState } from '../proxy/flow/exchange.js';
import { upstreamErrorAnswer } from '../proxy/flow/respond.js';

const STATES: ExchangeState[] = ['admitting', 'queued', 'forwarding', 'answered', 'ended'];

/** The allowed moves, written out (not read from the module): anything else is refused. */
const ALLOWED = new Set([
  'admitting→queued', 'admitting→forwarding', 'admitting→answered', 'admitting→ended',
  // Out of the queue, the remaining request rules run; a timer may answer it while it waits.
  'queued→admitting', 'queued→answered', 'queued→ended',
  // The response head reaches the client, or the proxy answers (502, 504) before it did.
  'forwarding→answered', 'forwarding→ended',
  'answered→ended',
]);

/** The exchanges that ended, per test. */
let logged: Exchange[] = [];

/** The exchange's whole environment (proxy/flow/exchange.ts ExchangeEnv): no service of the proxy is faked. */
const env: ExchangeEnv = {
  platformNames: ['tcsas'],
  conditionFor: () => undefined,
  clientName: () => undefined,
  started: () => undefined,
  violation: (_ex, v) => v,
  ended: (ex) => { logged.push(ex); },
};

/** A response that keeps what was written to it. */
function fakeRes(): ServerResponse & { written: number[] } {
  const written: number[] = [];
  // An HTTP/1.1 response as the writer tells them apart (instanceof ServerResponse), with what it calls replaced.
  return Object.assign(Object.create(ServerResponse.prototype) as ServerResponse, {
    written, destroyed: false, setHeader: () => undefined,
    writeHead(status: number) { written.push(status); return this; },
    end: () => undefined,
  }) as unknown as ServerResponse & { written: number[] };
}

function exchange(res = fakeRes()): Exchange {
  const req = { method: 'GET', headers: {}, httpVersion: '1.1', complete: true } as unknown as IncomingMessage;
  return new Exchange(env, { req, res, client: '127.0.0.1', scheme: 'https', host: 'a.example.test', port: 443, path: '/', api: 'request' });
}

/** An exchange brought to `state` by allowed moves. */
function at(state: ExchangeState): Exchange {
  const ex = exchange();
  const path: Record<ExchangeState, ExchangeState[]> = {
    admitting: [], queued: ['queued'], forwarding: ['forwarding'], answered: ['forwarding', 'answered'], ended: ['ended'],
  };
  for (const s of path[state]) assert.ok(ex.moveTo(s));
  assert.equal(ex.state, state);
  return ex;
}

describe('Exchange state: every move from every state', () => {
  it('starts admitting', () => assert.equal(exchange().state, 'admitting'));
  for (const from of STATES) {
    for (const to of STATES) {
      const allowed = ALLOWED.has(`${from}→${to}`);
      it(`${from} → ${to}: ${allowed ? 'allowed' : 'refused'}`, () => {
        const ex = at(from);
        assert.equal(ex.moveTo(to), allowed);
        assert.equal(ex.state, allowed ? to : from);
      });
    }
  }
});

describe('Exchange state: what it allows', () => {
  for (const state of STATES) {
    const answerable = state === 'admitting' || state === 'queued' || state === 'forwarding';
    it(`${state}: ${answerable ? 'the proxy can still answer' : 'only a cut is left'}`, () => assert.equal(at(state).answerable, answerable));
  }

  it('the proxy answers once, while nothing was sent; a later answer changes nothing', () => {
    const res = fakeRes();
    const ex = exchange(res);
    ex.moveTo('forwarding');
    ex.answer(upstreamErrorAnswer('request', 'upstream-failed', 'econnreset', 'm'), 'error');
    assert.equal(ex.state, 'answered');
    ex.answer({ status: 504, headers: {}, body: '' }, 'blocked');
    assert.deepEqual(res.written, [502]);
    assert.equal(ex.status, 502);
    assert.equal(ex.outcome, 'error');
  });

  it('an exchange whose response head went out is not answered by the proxy', () => {
    const res = fakeRes();
    const ex = exchange(res);
    ex.moveTo('forwarding');
    ex.moveTo('answered');
    ex.answer({ status: 504, headers: {}, body: '' }, 'blocked');
    assert.deepEqual(res.written, []);
    assert.equal(ex.outcome, undefined);
  });

  it('findings still due hold the end: finish notes its outcome, the release ends it', () => {
    logged = [];
    const ex = at('answered');
    const release = ex.awaitFindings();
    ex.finish('completed');
    ex.finish('aborted');
    assert.equal(ex.state, 'answered');
    assert.equal(logged.length, 0);
    release();
    release();
    assert.equal(ex.state, 'ended');
    assert.equal(ex.outcome, 'completed');
    assert.equal(logged.length, 1);
  });

  it('finish ends it once: one exchange line, whatever calls it again', () => {
    logged = [];
    const ex = at('answered');
    ex.finish('completed');
    ex.finish('aborted');
    ex.cut('cut');
    assert.equal(ex.state, 'ended');
    assert.equal(ex.outcome, 'completed');
    assert.equal(logged.length, 1);
  });
});
