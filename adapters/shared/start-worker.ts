import { Worker } from 'node:worker_threads';
import { join } from 'node:path';

/**
 * Under the test runner the sources are TypeScript with no build: the worker
 * compiles its entry (and what it requires) on the fly with swc.
 */
const TS_BOOT = [
  "const fs = require('node:fs'); const swc = require('@swc/core'); const { workerData } = require('node:worker_threads');",
  "require.extensions['.ts'] = (m, f) => m._compile(swc.transformSync(fs.readFileSync(f, 'utf8'), { filename: f, jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }).code, f);",
  'require(workerData.entry);',
].join('\n');

/**
 * Starts the worker module `<dir>/<name>.js` (compiled) or `<dir>/<name>.ts`
 * (under the test runner), passing `data` as its workerData.
 * @param dir - the caller's `__dirname`
 * @param name - module base name, without extension
 * @param data - plain data for the worker
 */
export function startWorker(dir: string, name: string, data: Record<string, unknown>): Worker {
  const compiled = join(dir, `${name}.js`);
  if (!__filename.endsWith('.ts')) return new Worker(compiled, { workerData: data });
  return new Worker(TS_BOOT, { eval: true, workerData: { ...data, entry: join(dir, `${name}.ts`) } });
}
