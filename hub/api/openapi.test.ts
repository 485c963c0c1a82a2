import express, { Router } from 'express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore } from '../../adapters/store';
import { testStoreKeys } from '../../test/support/store-keys';
import { TokenService } from '../auth/token-service';
import { UserDirectory } from '../auth/user-directory';
import { monitorRouter } from '../http/monitor';
import type { MonitorRouter } from '../http/monitor';
import { apiRouter } from './api-router';
import { openApiDocument } from './openapi';
import { queuesApi } from './queues-router';

/** The parts of Express 4's router internals the walk reads (not in its type definitions). */
interface Layer {
  name: string;
  regexp: RegExp & { fast_slash?: boolean };
  keys: { name: string }[];
  route?: { path: unknown; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** A mount path back from the regexp Express 4 compiled it to (`/a/:id` → `/a/{id}`). */
function mountPath(layer: Layer): string {
  if (layer.regexp.fast_slash) return '';
  let i = 0;
  const path = layer.regexp.source
    .replace(/^\^/, '')
    .replace(/\\\/\?\(\?=\\\/\|\$\)$/, '')
    .replace(/\(\?:\(\[\^\\\/\]\+\?\)\)/g, () => `{${layer.keys[i++]!.name}}`)
    .replace(/\\\//g, '/');
  if (/[\\()[\]*+?^$|]/.test(path)) throw new Error(`cannot read the mount path of ${layer.regexp.source}; extend mountPath`);
  return path;
}

/** Every `METHOD /path` the router serves, nested routers included, paths in OpenAPI form. */
function servedRoutes(router: Router, prefix = ''): string[] {
  const out: string[] = [];
  for (const layer of (router as unknown as { stack: Layer[] }).stack) {
    if (layer.route) {
      // A regexp route cannot be matched against the document: it shows as undocumented if it is under /api/v1.
      const path = prefix + (typeof layer.route.path === 'string' ? layer.route.path.replace(/:(\w+)/g, '{$1}') : `<${String(layer.route.path)}>`);
      for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') out.push(`${method.toUpperCase()} ${path}`);
    } else if (layer.name === 'router' && layer.handle.stack) {
      out.push(...servedRoutes(layer.handle as unknown as Router, prefix + mountPath(layer)));
    }
  }
  return out;
}

type Doc = { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>; components: { schemas: Record<string, unknown> } };

function documented(doc: Doc): string[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
}

const API = '/api/v1';

/**
 * Every route under /api/v1 that the hub mounts (the monitor's API, the
 * queues API and apiRouter, mounted the way hub/hub.ts mounts them) appears, with its method, in
 * the OpenAPI document served at /api/v1/openapi.json.
 */
describe('OpenAPI document', () => {
  let dir: string;
  let store: EncryptedMessageStore;
  let monitor: MonitorRouter;
  let app: express.Express;
  const doc = openApiDocument('test') as unknown as Doc;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    const users = new UserDirectory([]);
    const tokens = new TokenService(store.tokens, users);
    monitor = monitorRouter({ store, tokens, assetsDir: dir });
    app = express();
    // Mounted in hub/hub.ts's order; the routers' handlers never run here, so the queue is a stand-in.
    app.use(monitor);
    app.use(API, queuesApi({ queue: {} as Parameters<typeof queuesApi>[0]['queue'], audit: store.audit, tokens, queueNames: () => [] }));
    app.use(API, apiRouter({ store, tokens, users, sessionTtlMs: 60_000, version: 'test' }));
  });

  afterAll(async () => {
    await monitor.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const apiRoutes = (): string[] =>
    servedRoutes((app as unknown as { _router: Router })._router)
      .filter((r) => r.split(' ')[1]!.startsWith(`${API}/`))
      .map((r) => r.replace(` ${API}/`, ' /'));

  test('the walk finds the routes of every router (so an empty walk cannot pass)', () => {
    expect(apiRoutes()).toEqual(expect.arrayContaining(['GET /messages', 'DELETE /tokens/{id}', 'POST /auth/login', 'GET /monitor/snapshot', 'GET /monitor/events', 'POST /monitor/messages/{id}/replay', 'GET /queues']));
  });

  test('every route served under /api/v1 is documented with its method', () => {
    const docs = new Set(documented(doc));
    expect(apiRoutes().filter((r) => !docs.has(r))).toEqual([]);
  });

  test('every documented operation is served (no stale entries)', () => {
    const served = new Set(apiRoutes());
    expect(documented(doc).filter((r) => !served.has(r))).toEqual([]);
  });

  test('a route added without documentation is reported', () => {
    const extra = Router();
    extra.get('/messages/:id/export', () => undefined);
    const outer = Router();
    outer.use('/api/v1', extra);
    const docs = new Set(documented(doc));
    expect(servedRoutes(outer).map((r) => r.replace(` ${API}/`, ' /')).filter((r) => !docs.has(r))).toEqual(['GET /messages/{id}/export']);
  });

  test('each templated path declares its path parameters', () => {
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      for (const [method, op] of Object.entries(ops)) {
        for (const n of names) if (!op.parameters?.some((p) => p.in === 'path' && p.name === n)) missing.push(`${method.toUpperCase()} ${path}: ${n}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('every $ref points at a schema the document defines', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    expect([...new Set(refs)].filter((r) => !(r in doc.components.schemas))).toEqual([]);
  });
});
