/**
 * docs/config.md's table is the one generated from config/schema.ts's JSDoc (test/helpers/config-doc.ts):
 * a key added to the schema, or a JSDoc changed, without `npm run docs` fails here.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../config/defaults.js';
import { configRows, configTable, PAGE, withTable } from './helpers/config-doc.js';

describe('docs/config.md', () => {
  it('holds exactly the table generated from config/schema.ts (run `npm run docs` after changing the schema)', () => {
    const page = fs.readFileSync(PAGE, 'utf8');
    assert.equal(withTable(page, configTable()), page);
  });

  it('has a row for every top-level key of the defaults, each with a meaning', () => {
    const rows = configRows();
    for (const key of Object.keys(DEFAULTS)) {
      assert.ok(rows.some((r) => r.key.startsWith(`\`${key}`)), `no row for ${key}`);
    }
    for (const r of rows) assert.ok(r.meaning.length > 10, `${r.key}: "${r.meaning}"`);
  });

  it('fails when the page differs from the schema', () => {
    const page = fs.readFileSync(PAGE, 'utf8');
    const edited = page.replace(/\| `mode` \|[^\n]*/, '| `mode` | `"enforce"` | hand-edited |');
    assert.notEqual(edited, page, 'the page has a row for mode');
    assert.notEqual(withTable(edited, configTable()), edited);
  });
});
