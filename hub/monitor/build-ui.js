#!/usr/bin/env node
'use strict';
// Bundles the monitor UI (hub/monitor/ui/main.tsx: Preact + uPlot and their
// CSS) into dist/monitor/: app-<hash>.js, app-<hash>.css and an index.html
// that loads them (no inline script, so the page works under a strict CSP).
// Type-checks the UI first against its own tsconfig (DOM + JSX), which the
// hub's CommonJS tsconfig does not cover.
//   node hub/monitor/build-ui.js [--no-check]
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * @param {{ root?: string, check?: boolean }} [options]
 * @returns {{ js: string, css: string, bytes: number }}
 */
function buildUi(options = {}) {
  const root = options.root ?? ROOT;
  const uiDir = path.join(root, 'hub', 'monitor', 'ui');
  const outDir = path.join(root, 'dist', 'monitor');
  if (options.check !== false) {
    const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
    try {
      execFileSync(process.execPath, [tsc, '-p', path.join(uiDir, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
    } catch {
      throw new Error('monitor UI: TypeScript reported errors (see above)');
    }
  }
  const esbuild = require(require.resolve('esbuild', { paths: [root] }));
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const result = esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: { app: path.join(uiDir, 'main.tsx') },
    outdir: outDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`monitor UI: expected a .js and a .css output, got ${outputs.join(', ')}`);
  fs.writeFileSync(
    path.join(outDir, 'index.html'),
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>IVF Interface Hub · Monitor</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/monitor/${css}">
<script src="/monitor/${js}" defer></script>
</head>
<body>
<div id="app"></div>
<noscript>The monitor needs JavaScript.</noscript>
</body>
</html>
`,
  );
  const bytes = outputs.reduce((n, f) => n + fs.statSync(path.join(outDir, f)).size, 0);
  return { js, css, bytes };
}

module.exports = { buildUi };

if (require.main === module) {
  try {
    const { js, css, bytes } = buildUi({ check: !process.argv.includes('--no-check') });
    process.stdout.write(`monitor UI: dist/monitor/${js}, ${css} (${Math.round(bytes / 1024)} KiB)\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
