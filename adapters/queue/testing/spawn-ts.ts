import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { join } from 'node:path';

/**
 * Starts a Node child process on a TypeScript entry file without a build:
 * a two-line require hook compiles `.ts` with @swc/core (the compiler jest
 * already uses). A compiled `.js` entry (the benchmarks run from dist/) is
 * started as is. Test support only: production code never imports this, and
 * @swc/core is a dev dependency.
 */
const REPO_ROOT = join(__dirname, '..', '..', '..');

const TS_HOOK = [
  "const fs = require('node:fs'); const swc = require('@swc/core');",
  "require.extensions['.ts'] = (m, f) => m._compile(swc.transformSync(fs.readFileSync(f, 'utf8'), { filename: f, jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }).code, f);",
  'require(process.argv[1]);',
].join('\n');

/**
 * @param entry - absolute path of a `.ts` or `.js` file
 * @param args - its command-line arguments
 * @param options - spawn options; cwd defaults to the repository root so dev dependencies resolve
 */
export function spawnTs(entry: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const nodeArgs = entry.endsWith('.ts') ? ['-e', TS_HOOK, entry, ...args] : [entry, ...args];
  return spawn(process.execPath, nodeArgs, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], ...options });
}

/** The sibling of this file's directory entry `name`, as `.ts` under jest and `.js` when compiled. */
export function siblingEntry(name: string): string {
  return join(__dirname, `${name}${__filename.endsWith('.ts') ? '.ts' : '.js'}`);
}
