import { Router } from 'express';
import { monitorApiRouter } from '../api/monitor-api';
import { MonitorStats } from '../monitor/monitor-stats';
import { sessionRouter } from '../monitor/session';
import { defaultAssetsDir, monitorSecurityHeaders, staticAssets } from '../monitor/static-assets';
import type { MonitorDeps } from '../monitor/types';

export type MonitorRouter = Router & {
  /** Stops the overview poller and ends open event streams; call before closing the store. */
  close(): Promise<void>;
};

/**
 * `/monitor` (the bundled UI, public static files), `/monitor/session` (login
 * cookie) and `/api/v1/monitor` (live overview, message detail, operations;
 * authenticated). Mount it before the `/api/v1` router. Without `deps` only
 * the static UI is served and it reports that the monitor API is not wired.
 */
export function monitorRouter(deps?: MonitorDeps): MonitorRouter {
  const r = Router();
  r.use('/monitor', monitorSecurityHeaders);
  let stats: MonitorStats | undefined;
  if (deps) {
    stats = new MonitorStats({
      store: deps.store,
      endpoints: deps.endpoints,
      queues: deps.queues,
      metrics: deps.metrics,
      logger: deps.logger,
      tickMs: deps.tickMs,
      now: deps.now,
    });
    r.use(sessionRouter({ tokens: deps.tokens, audit: deps.store.audit, sessionTtlMs: deps.sessionTtlMs }));
    r.use('/api/v1/monitor', monitorApiRouter({ store: deps.store, tokens: deps.tokens, stats, operations: deps.operations, queuesConfigured: deps.queues !== undefined, alerts: deps.alerts, reprocessors: deps.reprocessors }));
  }
  r.use(staticAssets(deps?.assetsDir ?? defaultAssetsDir()));
  return Object.assign(r, { close: async () => stats?.close() });
}
