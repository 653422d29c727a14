/**
 * The installed package's own files (package.json, the dashboard's compiled browser scripts),
 * addressed from this module. It sits in dist/proxy/ whether tsc compiled it there or it is part
 * of the bundled CLI, dist/proxy/cli.js (docs/startup.md), so one relative base serves both; a
 * path relative to the module that reads a file would point elsewhere once bundled.
 */
export function packageFile(relative: string): URL {
  return new URL(`../../${relative}`, import.meta.url);
}
