import { Router } from 'express';
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { EncryptedMessageStore } from '../../adapters/store';

/** The hub's Prometheus registry. Labels carry endpoint names and codes only, never content. */
export function createMetrics(store: EncryptedMessageStore): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hub_process_' });
  new Gauge({
    name: 'hub_store_up',
    help: 'Whether the message store answered a ping (1) or not (0).',
    labelNames: ['backend'],
    registers: [registry],
    async collect() {
      try {
        await store.ping();
        this.set({ backend: store.backend }, 1);
      } catch {
        this.set({ backend: store.backend }, 0);
      }
    },
  });
  new Gauge({
    name: 'hub_store_pending_writes',
    help: 'Writes waiting for the next group commit.',
    registers: [registry],
    collect() {
      this.set(store.pendingWrites);
    },
  });
  return registry;
}

export function metricsRouter(registry: Registry, guard: RequestHandler[]): Router {
  const r = Router();
  r.get('/metrics', ...guard, async (_req, res, next) => {
    try {
      res.set('Content-Type', registry.contentType).send(await registry.metrics());
    } catch (err) {
      next(err);
    }
  });
  return r;
}
