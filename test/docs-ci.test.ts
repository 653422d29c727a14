/**
 * The CI examples of docs/ci.md: the GitHub Actions workflow and the GitLab CI job parse as
 * YAML, have the shape their runners need, and run the very `mgproxy run` line the page
 * documents; that line, with a small client as its command, really runs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { ROOT, runCli } from './helpers/proxy.js';
import { cleanEnv, REQUESTS, type RunWorld, startRunWorld } from './helpers/run.js';

const PAGE = fs.readFileSync(path.join(ROOT, 'docs', 'ci.md'), 'utf8');

/** The text of a `#`-heading's section, to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
  const level = /^#+/.exec(heading)![0].length;
  const start = text.split('\n').findIndex((l) => l === heading);
  assert.ok(start >= 0, `docs/ci.md has "${heading}"`);
  const rest = text.split('\n').slice(start + 1);
  const end = rest.findIndex((l) => { const m = /^(#+) /.exec(l); return m !== null && m[1]!.length <= level; });
  return rest.slice(0, end < 0 ? undefined : end).join('\n');
}

/** The fenced blocks of one language in a section. */
const blocks = (text: string, lang: string) => [...text.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1]!);

/** A command line as a shell would read it (this one has no quotes): backslash-newlines joined, words split. */
const words = (line: string) => line.replace(/\\\n/g, ' ').trim().split(/\s+/);

function parseYaml(text: string): any {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  assert.deepEqual([...doc.errors, ...doc.warnings].map((e) => e.message), [], text);
  return doc.toJS();
}

const CI = section(PAGE, '# Using it in CI');
const documented = blocks(CI, 'sh')[0];
const junitOf = (w: string[]) => w[w.indexOf('--junit') + 1];

describe('docs/ci.md: the CI examples', () => {
  it('documents one mgproxy run line', () => {
    assert.ok(documented, 'a sh block in "Using it in CI"');
    const w = words(documented!);
    assert.deepEqual(w.slice(0, 3), ['npx', 'mgproxy', 'run']);
    assert.ok(w.includes('--'), 'the command after --');
    assert.ok(junitOf(w)?.endsWith('.xml'));
  });

  it('has a complete GitHub Actions workflow running that line', () => {
    const found = blocks(section(CI, '## GitHub Actions'), 'yaml');
    assert.equal(found.length, 1, 'one workflow');
    const wf = parseYaml(found[0]!);
    assert.ok(wf.on, 'triggers');
    const jobs = Object.values(wf.jobs) as any[];
    assert.equal(jobs.length, 1);
    const job = jobs[0];
    assert.match(job['runs-on'], /ubuntu/);
    const steps = job.steps as any[];
    assert.ok(steps.some((s) => /^actions\/checkout@v\d+$/.test(s.uses)), 'checks out the repository');
    assert.ok(steps.some((s) => /^actions\/setup-node@v\d+$/.test(s.uses)), 'sets up Node');
    const runs = steps.filter((s) => typeof s.run === 'string' && s.run.includes('mgproxy run'));
    assert.equal(runs.length, 1);
    assert.deepEqual(words(runs[0].run), words(documented!), 'the step runs the documented line');
    const report = steps.find((s) => s.with?.report_paths);
    assert.equal(report?.with.report_paths, junitOf(words(documented!)), 'the JUnit report step reads the file the line writes');
    assert.equal(report?.if, 'always()', 'the report is shown when the tests failed too');
    assert.equal(job.permissions?.checks, 'write', 'the JUnit check run needs checks: write');
  });

  it('has a GitLab CI job running that line, with its JUnit report in artifacts:reports:junit', () => {
    const found = blocks(section(CI, '## GitLab CI'), 'yaml');
    assert.equal(found.length, 1, 'one job');
    const jobs = Object.entries(parseYaml(found[0]!)) as [string, any][];
    assert.equal(jobs.length, 1);
    const [, job] = jobs[0]!;
    assert.match(job.image, /^node:\d+/);
    const runs = (job.script as string[]).filter((l) => l.includes('mgproxy run'));
    assert.equal(runs.length, 1);
    assert.deepEqual(words(runs[0]!), words(documented!), 'the script runs the documented line');
    assert.equal(job.artifacts?.reports?.junit, junitOf(words(documented!)));
    assert.equal(job.artifacts?.when, 'always', 'the report is kept when the tests failed too');
  });
});

describe('docs/ci.md: the documented line runs', () => {
  let w: RunWorld;
  before(async () => { w = await startRunWorld(); });
  after(async () => { await w.close(); });

  it('runs a command through the proxy and writes the reports it names', async () => {
    const line = words(documented!);
    const options = line.slice(3, line.indexOf('--'));
    const r = await runCli(['run', ...options, '--ca-dir', w.caDir, '--', process.execPath, REQUESTS, 'https://api.example.test/echo'], { cwd: w.dir, env: cleanEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '200 https://api.example.test/echo\n');
    for (const flag of ['--junit', '--har', '--report']) {
      const i = options.indexOf(flag);
      if (i >= 0) assert.ok(fs.existsSync(path.join(w.dir, options[i + 1]!)), `${flag} ${options[i + 1]} written`);
    }
  });
});
