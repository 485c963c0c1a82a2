import type { Logger } from '../../adapters/shared/logger';
import type { MessageQuery, MessageStatus, MessageStore, TimeBucketCount } from '../../adapters/store';
import { BUCKET_MS, SERIES_BUCKETS, SPARK_MINUTES } from './protocol';
import type { Counters, EndpointSnapshot, MonitorSnapshot, QueueSnapshot, SeriesSnapshot } from './protocol';
import type { ConfiguredEndpoint, ConfiguredFlow, EndpointSource, MetricsSource, QueueStatusProvider } from './types';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const RATE_WINDOW_MS = 5 * MINUTE_MS;
/** A commit can land a little after its receivedAt (group commit, intake parse); look back this far. */
const LATE_MS = 3_000;
/** Buckets recounted on every tick: late commits and status changes of recent messages. */
const RECOUNT_BUCKETS = 3;
const POLL_LIMIT = 500;
const LATENCY_SAMPLE = 200;
const BACKFILL_LATENCY_SAMPLE = 50;
const EMPTY_BUCKET: TimeBucketCount = { bucket: 0, total: 0, inbound: 0, errored: 0 };
/** Backfill queries in flight at once: half of the PostgreSQL store's default pool of 8. */
const BACKFILL_CONCURRENCY = 4;
const MAX_TYPES = 8;
/** Status counts may use at most about this share of wall time; beyond it they refresh less often. */
const COUNTS_DUTY = 0.1;
const MAX_COUNTS_INTERVAL_MS = 30_000;
const QUEUE_TIMEOUT_MS = 800;
const ACK_METRIC = 'hub_ack_latency_seconds';

/**
 * Optional fast path a store may offer (proposed for EncryptedMessageStore):
 * message counts grouped by endpoint and status since a time, in one query.
 * Without it the monitor uses `count()` per endpoint and status.
 */
export interface GroupCountingStore {
  countGroups(since: Date): Promise<{ endpoint: string; status: MessageStatus; count: number }[]>;
}

export interface MonitorStatsOptions {
  store: MessageStore;
  endpoints?: EndpointSource;
  queues?: QueueStatusProvider;
  metrics?: MetricsSource;
  logger?: Logger;
  tickMs?: number;
  now?: () => number;
  /** Stop polling this long after the last subscriber left (default 60 s). */
  idleStopMs?: number;
}

interface Bucket {
  received: number;
  inbound: number;
  errored: number;
  p50: number | null;
  p95: number | null;
  /** Cumulative ACK-latency histogram counts observed during the bucket, by upper bound (s). */
  ack: Map<number, number> | null;
}

interface KnownEndpoint {
  lastMessageAt: number | null;
  types: string[];
  /** Arrivals per minute, by absolute minute number. */
  minutes: Map<number, number>;
  direction: 'inbound' | 'outbound' | 'both' | null;
}

interface CountSet {
  lastHour: Counters;
  perMinute: Counters;
}

type Listener = (json: string) => void;

/**
 * Keeps what the overview shows: throughput and latency over the last hour in
 * 10-second buckets, per-endpoint counts by status, connection state and queue
 * depth, and pushes one snapshot a second to subscribers. Everything comes from
 * the store's indexed count/search (so it is right after a restart and across
 * hub processes sharing a store), the flows' config nodes and, for ACK latency,
 * the metrics registry. Runs only while someone watches.
 */
export class MonitorStats {
  private readonly store: MessageStore;
  private readonly now: () => number;
  private readonly tickMs: number;
  private readonly idleStopMs: number;
  private readonly listeners = new Set<Listener>();
  private readonly closeHandlers = new Set<() => void>();
  private readonly buckets = new Map<number, Bucket>();
  private readonly known = new Map<string, KnownEndpoint>();
  private counts = new Map<string, CountSet>();
  private totals: CountSet = { lastHour: zero(), perMinute: zero() };
  private countsAt: number | null = null;
  private nextCountsAt = 0;
  private watermark = 0;
  private backfilled = false;
  private timer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | null = null;
  private seq = 0;
  private last: { snapshot: MonitorSnapshot; json: string } | null = null;
  private lastAck: Map<number, number> | null = null;
  private queues: QueueSnapshot[] | null = null;
  private storeUp = true;
  private closed = false;
  private config: { flows: ConfiguredFlow[]; endpoints: ConfiguredEndpoint[] } = { flows: [], endpoints: [] };

  constructor(private readonly o: MonitorStatsOptions) {
    this.store = o.store;
    this.now = o.now ?? Date.now;
    this.tickMs = o.tickMs ?? 1000;
    this.idleStopMs = o.idleStopMs ?? 60_000;
  }

  /**
   * Receive every snapshot (as JSON) from now on; the latest one at once if there is one.
   * @param listener - called once per tick
   * @returns unsubscribe
   */
  subscribe(listener: Listener, onClose?: () => void): () => void {
    if (this.closed) {
      onClose?.();
      return () => undefined;
    }
    this.listeners.add(listener);
    if (onClose) this.closeHandlers.add(onClose);
    this.ensureRunning();
    if (this.last) listener(this.last.json);
    return () => {
      this.listeners.delete(listener);
      if (onClose) this.closeHandlers.delete(onClose);
      if (this.listeners.size === 0) this.scheduleIdleStop();
    };
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  /** The current snapshot, computing one if the poller is not running yet. */
  async snapshot(): Promise<MonitorSnapshot> {
    this.ensureRunning();
    if (!this.last) await this.tick();
    if (this.listeners.size === 0) this.scheduleIdleStop();
    return this.last!.snapshot;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop();
    this.listeners.clear();
    for (const h of [...this.closeHandlers]) h();
    this.closeHandlers.clear();
    await this.ticking?.catch(() => undefined);
  }

  private ensureRunning(): void {
    if (this.closed) return;
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
    void this.tick();
  }

  private scheduleIdleStop(): void {
    if (this.idleTimer || !this.timer) return;
    this.idleTimer = setTimeout(() => this.stop(), this.idleStopMs);
    this.idleTimer.unref();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.timer = undefined;
    this.idleTimer = undefined;
    // A later start refills the hour from the store rather than trusting a gap.
    this.backfilled = false;
    this.last = null;
  }

  /** One poll; overlapping ticks (a slow store) are skipped, not queued. */
  tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = this.poll()
      .then(
        () => {
          this.storeUp = true;
        },
        (err: unknown) => {
          this.storeUp = false;
          this.o.logger?.warn('monitor snapshot failed', { error: err instanceof Error ? err.name : 'unknown' });
        },
      )
      .then(() => this.publish())
      .finally(() => {
        this.ticking = null;
      });
    return this.ticking;
  }

  private async poll(): Promise<void> {
    const now = this.now();
    this.config = this.configured();
    if (!this.backfilled) await this.backfill(now, this.config.endpoints);
    await this.pollNew(now);
    const current = bucketOf(now);
    for (let b = current - RECOUNT_BUCKETS + 1; b <= current; b++) await this.countBucket(b, LATENCY_SAMPLE);
    const minute = Math.floor(now / MINUTE_MS);
    for (const [name, k] of this.known) {
      if (k.lastMessageAt === null || k.lastMessageAt < (minute - 1) * MINUTE_MS) continue;
      for (const m of [minute - 1, minute]) k.minutes.set(m, await this.store.count({ endpoint: name, from: new Date(m * MINUTE_MS), to: new Date((m + 1) * MINUTE_MS) }));
    }
    if (now >= this.nextCountsAt) {
      const started = Date.now();
      await this.refreshCounts(now);
      const took = Date.now() - started;
      this.nextCountsAt = now + Math.min(MAX_COUNTS_INTERVAL_MS, took / COUNTS_DUTY);
    }
    await this.readAckLatency(current);
    await this.readQueues();
    this.prune(now);
  }

  private configured(): { flows: ConfiguredFlow[]; endpoints: ConfiguredEndpoint[] } {
    if (!this.o.endpoints) return { flows: [], endpoints: [] };
    try {
      const listed = this.o.endpoints.list();
      for (const e of listed.endpoints) this.knownEndpoint(e.name, e.direction);
      return listed;
    } catch (err) {
      this.o.logger?.warn('monitor could not list flow endpoints', { error: err instanceof Error ? err.name : 'unknown' });
      return { flows: [], endpoints: [] };
    }
  }

  private knownEndpoint(name: string, direction: KnownEndpoint['direction'] = null): KnownEndpoint {
    let k = this.known.get(name);
    if (!k) {
      k = { lastMessageAt: null, types: [], minutes: new Map(), direction };
      this.known.set(name, k);
    }
    return k;
  }

  /** Fills the hour from the store: after a (re)start the charts are complete at once. */
  private async backfill(now: number, configured: ConfiguredEndpoint[]): Promise<void> {
    this.buckets.clear();
    this.watermark = now - HOUR_MS;
    const yieldEvery = pacer();
    for (const e of configured) {
      const page = await this.store.search({ endpoint: e.name, limit: 1 });
      const last = page.items[0];
      if (last) this.knownEndpoint(e.name).lastMessageAt = last.receivedAt.getTime();
      await yieldEvery();
    }
    await this.pollNew(now);
    const current = bucketOf(now);
    const buckets = Array.from({ length: SERIES_BUCKETS }, (_, i) => current - SERIES_BUCKETS + 1 + i);
    // One grouped count for the whole series where the store offers it; then only the latency samples go bucket by bucket.
    const counted = await this.countByTime({ from: new Date(buckets[0]! * BUCKET_MS), to: new Date((current + 1) * BUCKET_MS) }, BUCKET_MS);
    await inGroups(buckets, BACKFILL_CONCURRENCY, async (b) => {
      await this.countBucket(b, BACKFILL_LATENCY_SAMPLE, counted ? (counted.get(b) ?? EMPTY_BUCKET) : undefined);
      await yieldEvery();
    });
    const minute = Math.floor(now / MINUTE_MS);
    const minutes = Array.from({ length: SPARK_MINUTES }, (_, i) => minute - SPARK_MINUTES + 1 + i);
    for (const [name, k] of this.known) {
      k.minutes.clear();
      if (k.lastMessageAt === null || k.lastMessageAt < now - HOUR_MS) continue;
      const perMinute = await this.countByTime({ endpoint: name, from: new Date(minutes[0]! * MINUTE_MS), to: new Date((minute + 1) * MINUTE_MS) }, MINUTE_MS);
      await inGroups(minutes, BACKFILL_CONCURRENCY, async (m) => {
        k.minutes.set(m, perMinute ? (perMinute.get(m)?.total ?? 0) : await this.store.count({ endpoint: name, from: new Date(m * MINUTE_MS), to: new Date((m + 1) * MINUTE_MS) }));
        await yieldEvery();
      });
    }
    this.nextCountsAt = 0;
    this.backfilled = true;
  }

  /** New messages since the last poll: endpoint discovery, last message time and types (newest page only). */
  private async pollNew(now: number): Promise<void> {
    const page = await this.store.search({ from: new Date(Math.max(this.watermark - LATE_MS, now - HOUR_MS)), limit: POLL_LIMIT });
    let newest = this.watermark;
    for (const m of page.items) {
      const at = m.receivedAt.getTime();
      newest = Math.max(newest, at);
      const k = this.knownEndpoint(m.endpoint);
      if (k.lastMessageAt === null || at > k.lastMessageAt) k.lastMessageAt = at;
      if (k.direction === null) k.direction = m.direction;
      else if (k.direction !== m.direction && k.direction !== 'both') k.direction = 'both';
      if (m.messageType && !k.types.includes(m.messageType)) {
        k.types.unshift(m.messageType.slice(0, 40));
        if (k.types.length > MAX_TYPES) k.types.length = MAX_TYPES;
      }
    }
    this.watermark = Math.min(newest, now);
  }

  /** Counts per bucket in one query, by bucket; null when the store has no grouped count. */
  private async countByTime(query: { from: Date; to: Date; endpoint?: string }, bucketMs: number): Promise<Map<number, TimeBucketCount> | null> {
    if (typeof this.store.countByTime !== 'function') return null;
    return new Map((await this.store.countByTime(query, bucketMs)).map((c) => [c.bucket, c]));
  }

  /** @param counted - the bucket's counts when a grouped count already has them */
  private async countBucket(b: number, latencySample: number, counted?: TimeBucketCount): Promise<void> {
    const from = new Date(b * BUCKET_MS);
    const to = new Date((b + 1) * BUCKET_MS);
    const received = counted ? counted.total : await this.store.count({ from, to });
    const old = this.buckets.get(b);
    if (received === 0) {
      this.buckets.set(b, { received: 0, inbound: 0, errored: 0, p50: null, p95: null, ack: old?.ack ?? null });
      return;
    }
    const inbound = counted ? counted.inbound : await this.store.count({ from, to, direction: 'inbound' });
    const errored = counted ? counted.errored : await this.store.count({ from, to, status: 'error' });
    const sent = await this.store.search({ from, to, status: 'sent', limit: latencySample });
    const took = sent.items.map((m) => m.updatedAt.getTime() - m.receivedAt.getTime()).filter((ms) => ms >= 0).sort((x, y) => x - y);
    this.buckets.set(b, { received, inbound, errored, p50: percentile(took, 0.5), p95: percentile(took, 0.95), ack: old?.ack ?? null });
  }

  private async refreshCounts(now: number): Promise<void> {
    const hourAgo = new Date(now - HOUR_MS);
    const rateFrom = new Date(now - RATE_WINDOW_MS);
    const grouped = (this.store as Partial<GroupCountingStore>).countGroups;
    const next = new Map<string, CountSet>();
    if (typeof grouped === 'function') {
      const [hour, recent] = await Promise.all([grouped.call(this.store, hourAgo), grouped.call(this.store, rateFrom)]);
      for (const g of hour) addStatus((next.get(g.endpoint) ?? set(next, g.endpoint)).lastHour, g.status, g.count);
      for (const g of recent) addStatus((next.get(g.endpoint) ?? set(next, g.endpoint)).perMinute, g.status, g.count / 5);
      for (const name of next.keys()) this.knownEndpoint(name);
    } else {
      for (const [name, k] of this.known) {
        // Nothing arrived in the window: nothing to count (statuses only change on messages that did).
        if (k.lastMessageAt === null || k.lastMessageAt < hourAgo.getTime()) continue;
        const c = set(next, name);
        await this.countStatuses({ endpoint: name, from: hourAgo }, c.lastHour, 1);
        if (k.lastMessageAt >= rateFrom.getTime()) await this.countStatuses({ endpoint: name, from: rateFrom }, c.perMinute, 5);
      }
    }
    const totals: CountSet = { lastHour: zero(), perMinute: zero() };
    for (const c of next.values()) {
      addCounters(totals.lastHour, c.lastHour);
      addCounters(totals.perMinute, c.perMinute);
    }
    this.counts = next;
    this.totals = totals;
    this.countsAt = now;
  }

  private async countStatuses(filter: Omit<MessageQuery, 'limit' | 'cursor'>, into: Counters, perMinutes: number): Promise<void> {
    for (const status of ['received', 'processing', 'sent', 'queued', 'filtered', 'error'] as const) {
      addStatus(into, status, (await this.store.count({ ...filter, status })) / perMinutes);
    }
  }

  private async readAckLatency(current: number): Promise<void> {
    const metric = this.o.metrics?.getSingleMetric(ACK_METRIC);
    if (!metric) return;
    let cumulative: Map<number, number>;
    try {
      cumulative = new Map();
      for (const v of (await metric.get()).values) {
        if (v.metricName !== `${ACK_METRIC}_bucket`) continue;
        const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
        cumulative.set(le, (cumulative.get(le) ?? 0) + v.value);
      }
    } catch {
      return;
    }
    const prev = this.lastAck;
    this.lastAck = cumulative;
    if (!prev) return;
    const delta = new Map<number, number>();
    let any = false;
    for (const [le, n] of cumulative) {
      const d = n - (prev.get(le) ?? 0);
      if (d > 0) any = true;
      delta.set(le, Math.max(0, d));
    }
    if (!any) return;
    const b = this.buckets.get(current) ?? { received: 0, inbound: 0, errored: 0, p50: null, p95: null, ack: null };
    const acc = b.ack ?? new Map<number, number>();
    for (const [le, d] of delta) acc.set(le, (acc.get(le) ?? 0) + d);
    b.ack = acc;
    this.buckets.set(current, b);
  }

  private async readQueues(): Promise<void> {
    const provider = this.o.queues;
    if (!provider) return;
    try {
      const list = await Promise.race([
        provider.list(),
        new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('queue stats timed out')), QUEUE_TIMEOUT_MS).unref()),
      ]);
      this.queues = list.map((q) => ({
        queue: q.queue,
        backend: q.backend,
        ready: q.ready,
        delayed: q.delayed,
        inFlight: q.inFlight,
        dead: q.dead,
        oldestWaitingAgeMs: q.oldestWaitingAgeMs,
        waitingFor: q.waitingFor ?? null,
      }));
    } catch {
      // Keep the last known depths; the snapshot time tells how fresh they are.
    }
  }

  private prune(now: number): void {
    const first = bucketOf(now) - SERIES_BUCKETS + 1;
    for (const b of this.buckets.keys()) if (b < first) this.buckets.delete(b);
    const firstMinute = Math.floor(now / MINUTE_MS) - SPARK_MINUTES + 1;
    const configured = new Set(this.config.endpoints.map((e) => e.name));
    for (const [name, k] of this.known) {
      for (const m of k.minutes.keys()) if (m < firstMinute) k.minutes.delete(m);
      if (!configured.has(name) && (k.lastMessageAt === null || k.lastMessageAt < now - HOUR_MS)) this.known.delete(name);
    }
  }

  private publish(): void {
    if (this.closed) return;
    const snapshot = this.build(this.now());
    const json = JSON.stringify(snapshot);
    this.last = { snapshot, json };
    for (const l of this.listeners) {
      try {
        l(json);
      } catch {
        // A broken subscriber (closed socket) must not stop the others.
      }
    }
  }

  private build(now: number): MonitorSnapshot {
    const config = this.config;
    const configured = new Map(config.endpoints.map((e) => [e.name, e]));
    const flowLabels = new Map(config.flows.map((f) => [f.id, f.label]));
    const minute = Math.floor(now / MINUTE_MS);
    const names = new Set([...configured.keys(), ...this.known.keys()]);
    const endpoints: EndpointSnapshot[] = [...names].sort().map((name) => {
      const c = configured.get(name);
      const k = this.known.get(name);
      const counts = this.counts.get(name) ?? { lastHour: zero(), perMinute: zero() };
      const spark: number[] = [];
      for (let m = minute - SPARK_MINUTES + 1; m <= minute; m++) spark.push(k?.minutes.get(m) ?? 0);
      return {
        name,
        kind: c?.kind ?? 'store',
        direction: c?.direction ?? k?.direction ?? null,
        state: c?.state ?? 'unknown',
        detail: c?.detail ?? null,
        port: c?.port ?? null,
        connections: c?.connections ?? null,
        peers: c?.peers ?? [],
        pending: c?.pending ?? null,
        flows: (c?.flowIds ?? []).map((id) => ({ id, label: flowLabels.get(id) ?? id })),
        lastMessageAt: k?.lastMessageAt ? new Date(k.lastMessageAt).toISOString() : null,
        lastHour: counts.lastHour,
        perMinute: roundCounters(counts.perMinute),
        types: k?.types ?? [],
        spark,
      };
    });
    const flows = config.flows.map((f) => ({ ...f, endpoints: endpoints.filter((e) => e.flows.some((x) => x.id === f.id)).map((e) => e.name) }));
    const pending = (this.store as { pendingWrites?: unknown }).pendingWrites;
    return {
      seq: ++this.seq,
      at: new Date(now).toISOString(),
      countsAt: this.countsAt ? new Date(this.countsAt).toISOString() : null,
      store: { backend: this.store.backend, pendingWrites: typeof pending === 'number' ? pending : null, up: this.storeUp },
      totals: { lastHour: this.totals.lastHour, perMinute: roundCounters(this.totals.perMinute) },
      flows,
      endpoints,
      queues: this.o.queues ? (this.queues ?? []) : null,
      series: this.series(now),
    };
  }

  private series(now: number): SeriesSnapshot {
    const current = bucketOf(now);
    const first = current - SERIES_BUCKETS + 1;
    const s: SeriesSnapshot = { bucketMs: BUCKET_MS, start: first * BUCKET_MS, received: [], inbound: [], outbound: [], errored: [], latencyP50Ms: [], latencyP95Ms: [], ackP95Ms: [] };
    for (let b = first; b <= current; b++) {
      const x = this.buckets.get(b);
      s.received.push(x?.received ?? 0);
      s.inbound.push(x?.inbound ?? 0);
      s.outbound.push(x ? x.received - x.inbound : 0);
      s.errored.push(x?.errored ?? 0);
      s.latencyP50Ms.push(x?.p50 ?? null);
      s.latencyP95Ms.push(x?.p95 ?? null);
      s.ackP95Ms.push(x?.ack ? histogramQuantile(x.ack, 0.95) : null);
    }
    return s;
  }
}

export function zero(): Counters {
  return { received: 0, inFlight: 0, sent: 0, queued: 0, filtered: 0, errored: 0 };
}

function set(m: Map<string, CountSet>, name: string): CountSet {
  const c = { lastHour: zero(), perMinute: zero() };
  m.set(name, c);
  return c;
}

function addStatus(c: Counters, status: MessageStatus, n: number): void {
  c.received += n;
  if (status === 'received' || status === 'processing') c.inFlight += n;
  else if (status === 'sent') c.sent += n;
  else if (status === 'queued') c.queued += n;
  else if (status === 'filtered') c.filtered += n;
  else if (status === 'error') c.errored += n;
}

function addCounters(into: Counters, c: Counters): void {
  for (const k of Object.keys(into) as (keyof Counters)[]) into[k] += c[k];
}

function roundCounters(c: Counters): Counters {
  const out = zero();
  for (const k of Object.keys(out) as (keyof Counters)[]) out[k] = Math.round(c[k] * 10) / 10;
  return out;
}

function bucketOf(t: number): number {
  return Math.floor(t / BUCKET_MS);
}

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/**
 * Quantile (ms) of a Prometheus-style cumulative histogram, interpolating
 * linearly inside the bucket as histogram_quantile() does.
 * @param cumulative - count of observations ≤ each upper bound (seconds)
 */
export function histogramQuantile(cumulative: Map<number, number>, q: number): number | null {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const total = cumulative.get(Infinity) ?? cumulative.get(bounds[bounds.length - 1]!) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const le of bounds) {
    const n = cumulative.get(le)!;
    if (n >= rank) {
      if (le === Infinity) return Math.round(prevBound * 1000);
      const inBucket = n - prevCount;
      const frac = inBucket > 0 ? (rank - prevCount) / inBucket : 1;
      return Math.round((prevBound + (le - prevBound) * frac) * 100000) / 100;
    }
    prevBound = le;
    prevCount = n;
  }
  return Math.round(prevBound * 1000);
}

/**
 * Runs `fn` over `items`, at most `concurrency` at a time. The backfill's
 * ~400 small queries, one after another, were 0.6 s on PostgreSQL at 1M rows
 * (bench:search), nearly all of it round trips; a few at once overlap them
 * and still leave most of the pool to the intakes. SQLite answers
 * synchronously, so there it changes nothing.
 */
async function inGroups<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += concurrency) await Promise.all(items.slice(i, i + concurrency).map(fn));
}

/** better-sqlite3 answers synchronously: give the event loop a turn every few queries during a backfill. */
function pacer(every = 25): () => Promise<void> {
  let n = 0;
  return async () => {
    if (++n % every === 0) await new Promise<void>((r) => setImmediate(r));
  };
}
