/**
 * The map rules in force (docs/toolkit.md "Map rules"): the config's `map`, replaced at once by
 * `POST /api/map` when the new list is valid. Paths in either are relative to the config file's folder.
 */
import path from 'node:path';
import { type CompiledMapEntry, compileMap, type MapEntry, type MapProblem, matchMap, validateMap } from '../../../config/map.js';

export class MapRules {
  private list: readonly MapEntry[];
  private compiled: readonly CompiledMapEntry[];
  /** The folder relative paths are resolved against. */
  readonly dir: string;

  constructor(entries: readonly MapEntry[], configFile: string | undefined) {
    this.dir = configFile ? path.dirname(configFile) : process.cwd();
    this.list = entries;
    this.compiled = compileMap(entries, this.dir);
  }

  /** The list as given (what `GET /api/map` shows). */
  get entries(): readonly MapEntry[] {
    return this.list;
  }

  /** Replaces the list when `value` is a valid one; otherwise returns its problems and keeps the old list. */
  set(value: unknown): MapProblem[] {
    const problems = validateMap(value, this.dir);
    if (problems.length > 0) return problems;
    const entries = value as MapEntry[];
    this.compiled = compileMap(entries, this.dir);
    this.list = entries;
    return [];
  }

  /** The first rule matching the game's URL, with what its last `*` matched. */
  match(url: string): ReturnType<typeof matchMap> {
    return this.compiled.length === 0 ? undefined : matchMap(this.compiled, url);
  }
}
