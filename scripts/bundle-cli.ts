/**
 * `npm run build`'s second step: the `mgproxy` command as one file, dist/proxy/cli.js, written
 * over the module tsc compiled there (docs/startup.md). Node then reads one file at start instead of
 * some 160 modules and their package.json lookups. The modules tsc compiled stay beside it for
 * everything else (`mgproxy/runtime`, the tests, the dashboard's browser scripts).
 *
 * Left out of the bundle, loaded from node_modules on first use as before: undici, ws, node-forge,
 * qrcode and pino-pretty (each is required lazily through `createRequire`, which esbuild leaves as it is).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = new URL('../../', import.meta.url);
const OUT = new URL('dist/proxy/cli.js', ROOT);

/**
 * yargs' ESM shim finds its translations (`locales/`) and the project it runs in relative to its
 * own file (`import.meta.url`), which in a bundle is ours. Pointed back at the installed yargs so
 * that --help and the error messages read exactly as without the bundle, in every locale.
 */
const YARGS_SHIM = /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/;
const yargsShimLocation: Plugin = {
  name: 'yargs-shim-location',
  setup(b) {
    b.onLoad({ filter: YARGS_SHIM }, async (args) => {
      const text = await fs.promises.readFile(args.path, 'utf8');
      const from = 'fileURLToPath(import.meta.url)';
      if (!text.includes(from)) throw new Error(`${args.path}: no ${from} to point at the installed yargs; check the bundle against this yargs version`);
      const shim = "__mgproxyYargsRequire(import.meta.url).resolve('yargs/package.json').replace(/package\\.json$/, 'lib/platform-shims/esm.mjs')";
      return { contents: `import { createRequire as __mgproxyYargsRequire } from 'node:module';\n${text.replace(from, shim)}`, loader: 'js' };
    });
  },
};

const result = await build({
  absWorkingDir: fileURLToPath(ROOT),
  entryPoints: ['proxy/cli.ts'],
  outfile: fileURLToPath(OUT),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Whitespace and syntax only, names kept (a stack trace without source maps still names its
  // functions): a third less to read and parse at every start; measured, the child's CPU to the
  // first CONNECT answered fell ~7% (20 interleaved starts each on a 2-core machine).
  minifyWhitespace: true,
  minifySyntax: true,
  // Stack traces map to the .ts files under `node --enable-source-maps`, like tsc's own maps.
  sourcemap: 'linked',
  sourcesContent: false,
  // The CommonJS packages inside (pino, yargs' helpers) call `require` for Node's built-in modules.
  banner: { js: "import { createRequire as __mgproxyCreateRequire } from 'node:module';\nconst require = __mgproxyCreateRequire(import.meta.url);" },
  plugins: [yargsShimLocation],
  logLevel: 'warning',
});
if (result.errors.length > 0) process.exit(1);
