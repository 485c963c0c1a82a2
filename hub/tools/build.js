#!/usr/bin/env node
'use strict';
// Compiles the TypeScript sources to dist/ and copies each node's editor
// .html and locales/ beside its compiled .js, where Node-RED looks for them.
// `--if-needed` skips the work when dist/ is newer than every source file, so
// `npm start` on an installed checkout starts at once.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', '..');
const dist = path.join(root, 'dist');
const sourceDirs = ['hub', 'config', 'adapters', 'nodes', 'test/bench', 'test/support', 'test/sim'];

function newestMtime(dir, skip = () => false) {
  let newest = 0;
  if (!fs.existsSync(dir)) return newest;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (skip(p)) continue;
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p, skip) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

function upToDate() {
  const stamp = path.join(dist, '.build-stamp');
  if (!fs.existsSync(stamp)) return false;
  const built = fs.statSync(stamp).mtimeMs;
  const sources = Math.max(
    ...sourceDirs.map((d) => newestMtime(path.join(root, d))),
    fs.statSync(path.join(root, 'tsconfig.json')).mtimeMs,
    fs.statSync(path.join(root, 'tsconfig.build.json')).mtimeMs,
  );
  return built >= sources;
}

function copyNodeAssets() {
  const nodesDir = path.join(root, 'nodes');
  for (const entry of fs.readdirSync(nodesDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const src = path.join(nodesDir, entry.name);
    const dest = path.join(dist, 'nodes', entry.name);
    fs.mkdirSync(dest, { recursive: true });
    for (const file of fs.readdirSync(src)) {
      if (file.endsWith('.html')) fs.copyFileSync(path.join(src, file), path.join(dest, file));
      // An editor plugin folder is its own Node-RED module (the nodesDir scan loads plugins only from a
      // package.json); the source keeps it under another name so jest's module map sees no duplicate package.
      if (file === 'plugin-package.json') fs.copyFileSync(path.join(src, file), path.join(dest, 'package.json'));
    }
    const locales = path.join(src, 'locales');
    if (fs.existsSync(locales)) fs.cpSync(locales, path.join(dest, 'locales'), { recursive: true });
  }
}

if (process.argv.includes('--if-needed') && upToDate()) process.exit(0);
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
} catch {
  process.stderr.write('build failed: TypeScript reported errors (see above)\n');
  process.exit(1);
}
copyNodeAssets();
try {
  require('../monitor/build-ui.js').buildUi({ root });
} catch (err) {
  process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
fs.writeFileSync(path.join(dist, '.build-stamp'), new Date().toISOString() + '\n');
