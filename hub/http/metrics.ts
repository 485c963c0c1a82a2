import { Router } from 'express';
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { HubMetrics } from '../../adapters/shared/hub-metrics';
import type { MessageQueue } from '../../adapters/queue';
import type { EncryptedMessageStore } from '../../adapters/store';
import type { EndpointSource, QueueDepth, QueueStatusProvider } from '../monitor/types';
import { DeferredCounter } from './deferred-counter';
import { EndpointHistogram } from './endpoint-histogram';

// ACK latencies live in the sub-10 ms range on a healthy link; the tail
// buckets catch a downstream that is slowing down before it times out.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/**
 * Scrape-time reads of a broker must answer well inside Prometheus's default
 * 10 s scrape timeout, or the whole scrape (store health included) is lost.
 */
export const BROKER_PING_TIMEOUT_MS = 1000;
export const QUEUE_STATS_TIMEOUT_MS = 2000;
/** Endpoint states in which an endpoint does its job (an idle sender has simply nothing to send). */
const UP_STATES = new Set(['listening', 'connected', 'idle']);

/** What the scrape reads besides the store: the queue backend, per-queue depths, the flows' endpoints. */
export interface MetricsSources {
  queue?: Pick<MessageQueue, 'ping' | 'backend'>;
  queues?: QueueStatusProvider;
  endpoints?: EndpointSource;
}

/**
 * The hub's Prometheus registry and the `HubMetrics` flows report through.
 * Counters and histograms are pushed by nodes as messages move; store, broker,
 * queue and endpoint gauges are read at scrape time, so they are right even
 * when nothing moves. Labels are endpoint, queue and flow names, message types
 * and states: never message content.
 */
export function createMetrics(store: EncryptedMessageStore, sources: MetricsSources = {}): { registry: Registry; metrics: HubMetrics } {
  const registry = new Registry();
  // prom-client's own names already start with process_ / nodejs_: hub_process_resident_memory_bytes, hub_nodejs_heap_size_used_bytes.
  collectDefaultMetrics({ register: registry, prefix: 'hub_' });
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
  // Pushed once or more per message on the intake's event loop: see DeferredCounter and EndpointHistogram.
  const messages = new DeferredCounter({ name: 'hub_messages_total', help: 'Messages by endpoint, outcome and type.', labelNames: ['endpoint', 'outcome', 'type'] }, registry);
  const ack = new EndpointHistogram('hub_ack_latency_seconds', 'Receipt to ACK (inbound) or send to ACK (outbound).', LATENCY_BUCKETS, registry);
  const processing = new EndpointHistogram('hub_processing_seconds', 'Time a flow step spent on a message.', LATENCY_BUCKETS, registry);
  const endpoints = sources.endpoints;
  const connections = new Gauge({
    name: 'hub_connections',
    help: 'Open connections per endpoint.',
    labelNames: ['endpoint'],
    registers: [registry],
    // Not reset: endpoints that push their count (analyzer links) and are not config nodes keep the last pushed value.
    collect() {
      for (const e of listEndpoints(endpoints)) if (e.connections !== null) this.set({ endpoint: e.name }, e.connections);
    },
  });
  if (endpoints) registerEndpointGauges(registry, endpoints);
  if (sources.queue) registerBrokerGauge(registry, sources.queue);
  if (sources.queues) registerQueueGauges(registry, sources.queues);

  const metrics: HubMetrics = {
    message: (endpoint, outcome, type) => messages.inc(endpoint, outcome, type ?? ''),
    ackLatency: (endpoint, seconds) => ack.observe(endpoint, seconds),
    processing: (endpoint, seconds) => processing.observe(endpoint, seconds),
    connections: (endpoint, open) => connections.set({ endpoint }, open),
  };
  return { registry, metrics };
}

function listEndpoints(source: EndpointSource | undefined): ReturnType<EndpointSource['list']>['endpoints'] {
  if (!source) return [];
  try {
    return source.list().endpoints;
  } catch {
    // The runtime is starting or stopping; the next scrape sees it.
    return [];
  }
}

/**
 * Endpoint state, and which flows use each endpoint as an info series:
 * counters stay per endpoint (a message belongs to one endpoint, while one
 * listener can feed several flows), and a query joins the flow in with
 * `* on(endpoint) group_left(flow) hub_endpoint_info`.
 */
function registerEndpointGauges(registry: Registry, source: EndpointSource): void {
  new Gauge({
    name: 'hub_endpoint_up',
    help: 'Whether an endpoint is listening, connected or idle (1) or stopped, connecting, disconnected or failing (0).',
    labelNames: ['endpoint', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of listEndpoints(source)) this.set({ endpoint: e.name, kind: e.kind }, UP_STATES.has(e.state) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hub_endpoint_info',
    help: 'Always 1: the flows (tab labels) that use an endpoint.',
    labelNames: ['endpoint', 'kind', 'flow'],
    registers: [registry],
    collect() {
      this.reset();
      let described;
      try {
        described = source.list();
      } catch {
        return;
      }
      const labels = new Map(described.flows.map((f) => [f.id, f.label]));
      for (const e of described.endpoints) {
        for (const id of e.flowIds.length > 0 ? e.flowIds : ['']) this.set({ endpoint: e.name, kind: e.kind, flow: labels.get(id) ?? id }, 1);
      }
    },
  });
}

function registerBrokerGauge(registry: Registry, queue: Pick<MessageQueue, 'ping' | 'backend'>): void {
  new Gauge({
    name: 'hub_queue_up',
    help: `Whether the queue backend answered a ping within ${BROKER_PING_TIMEOUT_MS} ms (1) or not (0).`,
    labelNames: ['backend'],
    registers: [registry],
    async collect() {
      try {
        await withTimeout(queue.ping(), BROKER_PING_TIMEOUT_MS);
        this.set({ backend: queue.backend }, 1);
      } catch {
        this.set({ backend: queue.backend }, 0);
      }
    },
  });
}

function registerQueueGauges(registry: Registry, provider: QueueStatusProvider): void {
  // A scrape starts every collect() in one synchronous pass, so both gauges
  // share one read of the backend; the next scrape reads afresh.
  let inFlight: Promise<QueueDepth[]> | null = null;
  const depths = (): Promise<QueueDepth[]> => {
    inFlight ??= withTimeout(provider.list(), QUEUE_STATS_TIMEOUT_MS).finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
  new Gauge({
    name: 'hub_queue_messages',
    help: 'Messages per queue by state: ready, delayed (waiting for a retry), in_flight (with a consumer), dead (dead letters). Absent when the backend did not answer.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of await depths().catch(() => [])) {
        this.set({ queue: q.queue, state: 'ready' }, q.ready);
        this.set({ queue: q.queue, state: 'delayed' }, q.delayed);
        this.set({ queue: q.queue, state: 'in_flight' }, q.inFlight);
        this.set({ queue: q.queue, state: 'dead' }, q.dead);
      }
    },
  });
  new Gauge({
    name: 'hub_queue_oldest_waiting_seconds',
    help: 'Age (since enqueue or replay) of the oldest message a queue has not yet handled (ready, delayed or in flight); 0 when there is none. Absent when the backend cannot tell (SQS).',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of await depths().catch(() => [])) {
        if (q.ready + q.delayed + q.inFlight === 0) this.set({ queue: q.queue }, 0);
        else if (q.oldestWaitingAgeMs !== null) this.set({ queue: q.queue }, q.oldestWaitingAgeMs / 1000);
      }
    },
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
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
