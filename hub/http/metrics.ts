import { Router } from 'express';
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HubMetrics } from '../../adapters/shared/hub-metrics';
import type { EncryptedMessageStore } from '../../adapters/store';

// ACK latencies live in the sub-10 ms range on a healthy link; the tail
// buckets catch a downstream that is slowing down before it times out.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The hub's Prometheus registry and the `HubMetrics` flows report through. */
export function createMetrics(store: EncryptedMessageStore): { registry: Registry; metrics: HubMetrics } {
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
  const messages = new Counter({ name: 'hub_messages_total', help: 'Messages by endpoint, outcome and type.', labelNames: ['endpoint', 'outcome', 'type'], registers: [registry] });
  const ack = new Histogram({ name: 'hub_ack_latency_seconds', help: 'Receipt to ACK (inbound) or send to ACK (outbound).', labelNames: ['endpoint'], buckets: LATENCY_BUCKETS, registers: [registry] });
  const processing = new Histogram({ name: 'hub_processing_seconds', help: 'Time a flow step spent on a message.', labelNames: ['endpoint'], buckets: LATENCY_BUCKETS, registers: [registry] });
  const connections = new Gauge({ name: 'hub_connections', help: 'Open connections per endpoint.', labelNames: ['endpoint'], registers: [registry] });
  const metrics: HubMetrics = {
    message: (endpoint, outcome, type) => messages.inc({ endpoint, outcome, type: type ?? '' }),
    ackLatency: (endpoint, seconds) => ack.observe({ endpoint }, seconds),
    processing: (endpoint, seconds) => processing.observe({ endpoint }, seconds),
    connections: (endpoint, open) => connections.set({ endpoint }, open),
  };
  return { registry, metrics };
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
