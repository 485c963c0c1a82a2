import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import type { NodeAPI } from 'node-red';
import init = require('./ivf-hub-sidebar');

interface TabDef {
  id: string;
  label: string;
  content: unknown;
  enableOnEdit?: boolean;
  onchange?: () => void;
}

/** A jQuery stand-in for the editor script: every call chains, so building the tab's DOM needs no browser. */
function chainable(): unknown {
  const fn: () => unknown = () => proxy;
  const proxy: unknown = new Proxy(fn, { get: (_t, key) => (key === 'length' ? 0 : proxy), apply: () => proxy });
  return proxy;
}

function editorScript(): string {
  const html = readFileSync(join(__dirname, 'ivf-hub-sidebar.html'), 'utf8');
  const m = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error('no editor script in ivf-hub-sidebar.html');
  return m[1]!;
}

describe('ivf-hub-sidebar plugin', () => {
  test('the runtime part registers the plugin with Node-RED', () => {
    const registerPlugin = jest.fn();
    init({ plugins: { registerPlugin } } as unknown as NodeAPI);
    expect(registerPlugin).toHaveBeenCalledTimes(1);
    expect(registerPlugin).toHaveBeenCalledWith('ivf-hub-sidebar', expect.objectContaining({ type: 'ivf-hub-sidebar' }));
  });

  test('the editor script registers the plugin under the same id and, when added, adds the IVF hub sidebar tab', () => {
    const plugins = new Map<string, { onadd?: () => void; onremove?: () => void; _?: unknown }>();
    const tabs: TabDef[] = [];
    const actions = new Map<string, () => void>();
    const timers: unknown[] = [];
    const RED = {
      plugins: {
        registerPlugin: (id: string, def: { onadd?: () => void; _?: unknown }) => {
          plugins.set(id, def);
          // As the editor does: a catalog lookup bound to the plugin, then onadd.
          def._ = (key: string) => `t(${key})`;
          def.onadd?.();
        },
      },
      sidebar: { addTab: (def: TabDef) => tabs.push(def), show: jest.fn(), removeTab: jest.fn() },
      actions: { add: (name: string, fn: () => void) => actions.set(name, fn), remove: (name: string) => actions.delete(name) },
    };
    runInNewContext(editorScript(), { RED, $: chainable(), setInterval: (f: unknown) => timers.push(f), clearInterval: () => undefined, setTimeout: () => undefined });

    expect([...plugins.keys()]).toEqual(['ivf-hub-sidebar']);
    expect(tabs).toHaveLength(1);
    expect(tabs[0]).toMatchObject({ id: 'ivf-hub', label: 't(ivf-hub-sidebar.label.tab)', enableOnEdit: true });
    expect(typeof tabs[0]!.onchange).toBe('function');
    expect(timers).toHaveLength(1);
    actions.get('ivf-hub:show-sidebar')!();
    expect(RED.sidebar.show).toHaveBeenCalledWith('ivf-hub');

    plugins.get('ivf-hub-sidebar')!.onremove!();
    expect(RED.sidebar.removeTab).toHaveBeenCalledWith('ivf-hub');
    expect(actions.has('ivf-hub:show-sidebar')).toBe(false);
  });

  test('every label the editor script asks for is in the catalog', () => {
    const catalog = JSON.parse(readFileSync(join(__dirname, 'locales', 'en-US', 'ivf-hub-sidebar.json'), 'utf8')) as Record<string, unknown>;
    const keys = [...editorScript().matchAll(/'((?:label|errors)\.[\w-]+)'/g)].map((m) => m[1]!);
    expect(keys).toEqual(expect.arrayContaining(['label.tab', 'label.no-queues', 'errors.forbidden']));
    const has = (path: string): boolean => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], catalog['ivf-hub-sidebar']) !== undefined;
    expect(keys.filter((k) => !has(k))).toEqual([]);
  });
});
