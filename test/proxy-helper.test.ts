/**
 * The test helper that starts the proxy must not let a bug pass: `start` logs an uncaught
 * exception and serves on (right for users), so the helper fails the test that saw one.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { INTERNAL_ERROR } from '../proxy/log.js';
import { ProxyBugError, startProxy, tempDir } from './helpers/proxy.js';

describe('test/helpers/proxy.ts', () => {
  it('fails the test (stop rejects) when the proxy logged an uncaught exception, and not otherwise', async () => {
    const dir = tempDir();
    // A bug planted in the proxy process: an exception thrown from a signal handler is uncaught.
    const bug = path.join(dir, 'planted-bug.mjs');
    fs.writeFileSync(bug, "process.on('SIGUSR2', () => { throw new Error('planted bug'); });\n");
    const buggy = await startProxy({ env: { NODE_OPTIONS: `--import=${bug}` } });
    const clean = await startProxy({ env: { NODE_OPTIONS: `--import=${bug}` } });
    try {
      buggy.child.kill('SIGUSR2');
      const line = await buggy.waitFor((l) => l.msg === INTERNAL_ERROR);
      assert.match(JSON.stringify(line), /planted bug/);
      // The proxy serves on (users keep their session) …
      assert.equal((await fetch(`${buggy.adminUrl}/api/stats`)).status, 200);
      // … and the test fails.
      await assert.rejects(buggy.stop(), (err: Error) => err instanceof ProxyBugError && /planted bug/.test(err.message));
      assert.equal(await clean.stop(), 0);
    } finally {
      await buggy.stop().catch(() => undefined);
      await clean.stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
