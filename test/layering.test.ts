import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The layering rules of STYLE.md §1, checked on every source file:
 * adapters never import Node-RED; nodes never open sockets or call provider SDKs
 * themselves; neither writes to the console (logs go through loggers that never see PHI).
 */
const ROOT = join(__dirname, '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

const FORBIDDEN_IN_NODES = /^(node:)?(net|tls|dgram|http|https)$|^(amqplib|@aws-sdk\/.*|stripe|twilio|@sendgrid\/.*|pg|better-sqlite3|serialport)$/;

test('adapters/ never imports node-red', () => {
  const offenders = sources(join(ROOT, 'adapters')).filter((f) => imports(f).some((i) => i === 'node-red' || i.startsWith('@node-red/') || i.includes('/nodes/')));
  expect(offenders.map((f) => relative(ROOT, f))).toEqual([]);
});

test('nodes/ never imports sockets, drivers or provider SDKs', () => {
  const offenders = sources(join(ROOT, 'nodes')).flatMap((f) => imports(f).filter((i) => FORBIDDEN_IN_NODES.test(i)).map((i) => `${relative(ROOT, f)}: ${i}`));
  expect(offenders).toEqual([]);
});

test('no console logging in adapters/ or nodes/', () => {
  const offenders = [...sources(join(ROOT, 'adapters')), ...sources(join(ROOT, 'nodes'))].filter((f) => /\bconsole\.(log|info|debug|warn|error)\(/.test(readFileSync(f, 'utf8')));
  expect(offenders.map((f) => relative(ROOT, f))).toEqual([]);
});

test('every node folder is registered in package.json (as a node or an editor plugin) and has its editor files', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string>; plugins?: Record<string, string> } };
  const plugins = pkg['node-red'].plugins ?? {};
  for (const [name, file] of Object.entries(plugins)) {
    expect(file).toBe(`dist/nodes/${name}/${name}.js`);
    expect(statSync(join(ROOT, 'nodes', name, `${name}.html`)).isFile()).toBe(true);
  }
  const folders = readdirSync(join(ROOT, 'nodes')).filter((n) => n !== 'shared' && !(n in plugins) && statSync(join(ROOT, 'nodes', n)).isDirectory());
  expect(Object.keys(pkg['node-red'].nodes).sort()).toEqual(folders.sort());
  for (const type of folders) {
    expect(pkg['node-red'].nodes[type]).toBe(`dist/nodes/${type}/${type}.js`);
    for (const f of [`${type}.ts`, `${type}.html`, `locales/en-US/${type}.json`, `locales/en-US/${type}.html`]) {
      expect(statSync(join(ROOT, 'nodes', type, f)).isFile()).toBe(true);
    }
    // Config nodes live in Node-RED's 'config' category; everything else in the hub's palette section.
    expect(readFileSync(join(ROOT, 'nodes', type, `${type}.html`), 'utf8')).toMatch(/category: '(IVF hub|config)'/);
  }
});
