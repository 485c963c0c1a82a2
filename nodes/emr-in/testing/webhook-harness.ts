import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import { HealthRegistry } from '../../../adapters/shared/health-registry';
import { silentLogger } from '../../../adapters/shared/logger';
import { PublicRouteRegistry } from '../../../adapters/shared/public-routes';
import { clearHubServices, setHubServices } from '../../../adapters/shared/registry';
import { createMessageStore } from '../../../adapters/store';
import type { EncryptedMessageStore } from '../../../adapters/store';
import { withHooks } from '../../../test/support/mllp-harness';
import { helper } from '../../../test/support/node-red-helper';
import type { NodeInit } from '../../../test/support/node-red-helper';
import { testStoreKeys } from '../../../test/support/store-keys';
import { ReprocessRegistry } from '../../../adapters/shared/reprocess-registry';

/**
 * Test support for the billing and messaging nodes (not loaded by Node-RED:
 * no .html beside it). A hub-like environment around node-red-node-test-helper:
 * a SQLite message store in a temp data dir, the public-route registry, a
 * Node-RED user dir at `<data>/node-red` (so provider state lands in
 * `<data>/providers`), the hub's token check as `httpNodeMiddleware`, and the
 * HTTP node app mounted at `/in` on the helper's own HTTP server.
 */
export const HTTP_NODE_ROOT = '/in';
/** The token the stand-in for the hub's check accepts. */
export const HUB_TOKEN = 'hub-api-token-for-tests';

export interface HubHarness {
  dir: string;
  store: EncryptedMessageStore;
  publicRoutes: PublicRouteRegistry;
  reprocessors: ReprocessRegistry;
  /** Wrap node inits so the harness sees `RED.httpNode`. */
  capture(init: NodeInit): NodeInit;
  /** Mount the HTTP node app on the helper's server; call after `helper.load`. */
  mount(): void;
  /** URL of a path under the HTTP node root on the helper's server. */
  url(path: string): string;
  close(): Promise<void>;
}

/** Call in beforeEach, after `helper.startServer()`. */
export async function startHubHarness(options: { withStore?: boolean } = {}): Promise<HubHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'hub-nodes-'));
  const store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
  const publicRoutes = new PublicRouteRegistry();
  const reprocessors = new ReprocessRegistry();
  if (options.withStore !== false) setHubServices({ store, logger: silentLogger, health: new HealthRegistry(), publicRoutes, reprocessors });
  else clearHubServices();
  // As hub/hub.ts: signature-verified paths skip the token check, everything else needs the token.
  const httpNodeMiddleware = (req: Request, res: Response, next: NextFunction): void => {
    if (publicRoutes.has(req.path) || req.headers.authorization === `Bearer ${HUB_TOKEN}`) next();
    else res.status(401).json({ error: 'unauthorized' });
  };
  (helper as unknown as { settings(s: Record<string, unknown>): void }).settings({ userDir: join(dir, 'node-red'), httpNodeMiddleware });
  let httpNode: NodeAPI['httpNode'] | undefined;
  return {
    dir,
    store,
    publicRoutes,
    reprocessors,
    capture(init: NodeInit): NodeInit {
      return withHooks((RED) => {
        httpNode = RED.httpNode;
        init(RED);
      });
    },
    mount(): void {
      const app = (helper as unknown as { _app?: { use(path: string, handler: unknown): void } })._app;
      if (!app || !httpNode) throw new Error('mount() needs helper.startServer() and a captured helper.load()');
      app.use(HTTP_NODE_ROOT, httpNode);
    },
    url(path: string): string {
      return `${(helper as unknown as { url(): string }).url()}${HTTP_NODE_ROOT}${path}`;
    },
    async close(): Promise<void> {
      clearHubServices();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** POST raw bytes with headers; resolves with status, text and content type. */
export async function post(url: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(url, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}
