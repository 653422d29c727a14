/**
 * How long the reports take for a long CI run (bench/README.md: 100,000 exchanges "must finish writing in
 * seconds"). Feeds N synthetic exchanges, each with one violation (the worst case for JSON and
 * JUnit: 100,000 events), through the EventHub and the HAR recorder exactly as a running proxy
 * does ('exchange-start' sets the body taps, the taps see the bodies, 'exchange' writes the
 * entry), then writes the three reports and times each.
 *
 *   npm run build && node dist/bench/report-write.js [N] [folder]
 *
 * Not part of npm test.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { EventHub, type Violation } from '../proxy/flow/events.js';
import { HarRecorder, type HarExchange } from '../proxy/reports/har.js';
import { jsonReportChunks } from '../proxy/reports/json.js';
import { junitReportChunks } from '../proxy/reports/junit.js';
import { writeFileAtomic } from '../proxy/reports/write-atomic.js';
import type { RuleId } from '../proxy/rules/types.js';

const N = Number(process.argv[2] ?? 100_000);
const dir = process.argv[3] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mgproxy-bench-'));
const keep = process.argv[3] !== undefined;

const RULES: { rule: RuleId; severity: Violation['severity'] }[] = [
  { rule: 'domain-not-allowed', severity: 'error' }, { rule: 'referer-mismatch', severity: 'warning' },
  { rule: 'http-error-status', severity: 'info' }, { rule: 'response-not-utf8', severity: 'warning' },
];
const textBody = Buffer.from(JSON.stringify({ ok: true, level: 3, items: Array.from({ length: 8 }, (_, i) => ({ id: i, name: `item ${i}` })) }));
const binaryBody = crypto.randomBytes(4096);

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const size = (f: string) => fs.statSync(f).size;

async function main(): Promise<void> {
  const events = new EventHub(pino({ level: 'silent' }));
  const harFile = path.join(dir, 'bench.har');
  const har = new HarRecorder(harFile);
  har.attach(events);
  const heapBefore = process.memoryUsage().heapUsed;

  let t0 = process.hrtime.bigint();
  for (let i = 1; i <= N; i++) {
    // A proxy's event loop turns between exchanges, and the HAR's file stream drains meanwhile.
    if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    const binary = i % 10 === 0;
    const body = binary ? binaryBody : textBody;
    const r = RULES[i % RULES.length]!;
    const url = `https://api.example.test/level/${i}?session=abc&n=${i}`;
    const v: Violation = {
      rule: r.rule, severity: r.severity, api: 'request', method: 'GET', url, host: 'api.example.test', port: 443,
      client: '127.0.0.1', action: r.severity === 'error' ? 'blocked' : 'reported', message: `synthetic ${r.rule} #${i}`, time: new Date().toISOString(),
    };
    const ex: HarExchange = {
      id: i, method: 'GET', url, api: 'request', client: '127.0.0.1', startedAt: Date.now(),
      req: { httpVersion: '1.1', rawHeaders: ['Host', 'api.example.test', 'User-Agent', 'bench', 'Accept', '*/*', 'Referer', 'https://servicewechat.com/'] },
      status: 200, responseHeaders: { 'content-type': binary ? 'application/octet-stream' : 'application/json', 'content-length': String(body.length) },
      responseStartMs: 3, durationMs: 5, bytesIn: 0, bytesOut: body.length, violations: [v], outcome: 'completed',
    };
    events.requests++;
    events.emit('exchange-start', ex);
    ex.responseBodyTap?.(body);
    events.record(v);
    events.emit('exchange', ex);
  }
  const feedMs = ms(t0);
  const heapAfterFeed = process.memoryUsage().heapUsed;

  const jsonFile = path.join(dir, 'report.json');
  t0 = process.hrtime.bigint();
  await writeFileAtomic(jsonFile, jsonReportChunks(events));
  const jsonMs = ms(t0);

  const junitFile = path.join(dir, 'junit.xml');
  t0 = process.hrtime.bigint();
  await writeFileAtomic(junitFile, junitReportChunks(events, { ruleIds: RULES.map((r) => r.rule), startedAt: new Date() }));
  const junitMs = ms(t0);

  t0 = process.hrtime.bigint();
  await har.finish();
  const harFinishMs = ms(t0);

  console.log(`mgproxy report writing, ${N} exchanges, ${events.violationCount} violations (node ${process.version}, ${os.cpus().length} cores)`);
  console.log(`  feed (events + HAR entries appended as exchanges end): ${feedMs.toFixed(0)} ms, ${(feedMs * 1000 / N).toFixed(1)} µs per exchange`);
  console.log(`  JSON  --report: ${jsonMs.toFixed(0)} ms, ${mb(size(jsonFile))} MiB`);
  console.log(`  JUnit --junit:  ${junitMs.toFixed(0)} ms, ${mb(size(junitFile))} MiB`);
  console.log(`  HAR   --har:    ${harFinishMs.toFixed(0)} ms at exit (close + fsync + rename), ${mb(size(harFile))} MiB`);
  console.log(`  heap growth while feeding: ${mb(heapAfterFeed - heapBefore)} MiB (the kept violations; HAR bodies are not held); RSS after writing ${mb(process.memoryUsage().rss)} MiB`);
  const entries = (JSON.parse(fs.readFileSync(harFile, 'utf8')) as { log: { entries: { _mgproxy: { bodyOmitted?: boolean } }[] } }).log.entries;
  JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  console.log(`  both JSON files parse; HAR entries ${entries.length}, bodies omitted ${entries.filter((e) => e._mgproxy.bodyOmitted).length}`);
  if (!keep) fs.rmSync(dir, { recursive: true, force: true });
}

await main();
