import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Histogram, Registry } from 'prom-client';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore, MessageStatus, NewMessage } from '../../adapters/store';
import { testStoreKeys } from '../../test/support/store-keys';
import { histogramQuantile, MonitorStats, percentile } from './monitor-stats';
import type { GroupCountingStore } from './monitor-stats';
import type { ConfiguredEndpoint, EndpointSource } from './types';

const MINUTE = 60_000;

describe('MonitorStats', () => {
  let dir: string;
  let store: EncryptedMessageStore;
  let stats: MonitorStats | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'monitor-stats-'));
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
  });
  afterEach(async () => {
    await stats?.close();
    stats = undefined;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const put = (endpoint: string, agoMs: number, status: MessageStatus, extra: Partial<NewMessage> = {}) =>
    store.insert({ direction: 'inbound', endpoint, status, receivedAt: new Date(Date.now() - agoMs), messageType: 'ORU^R01', body: 'MSH|...', ...extra });

  const listener = (over: Partial<ConfiguredEndpoint> = {}): ConfiguredEndpoint => ({
    name: 'lis-mllp',
    kind: 'mllp-listener',
    direction: 'inbound',
    state: 'listening',
    detail: 'MLLP :2575',
    port: 2575,
    connections: 1,
    peers: [{ address: '127.0.0.1', port: 50000, since: null }],
    pending: null,
    flowIds: ['f1'],
    ...over,
  });
  const source = (endpoints: ConfiguredEndpoint[]): EndpointSource => ({ list: () => ({ flows: [{ id: 'f1', label: 'Lab results', disabled: false }], endpoints }) });

  test('counts the last hour by endpoint and status, with rates, types, last message time and sparkline', async () => {
    await put('lis-mllp', 10_000, 'sent', { controlId: 'CTL-SECRET-1', patientId: 'MRN-SECRET-1' });
    await put('lis-mllp', 20_000, 'error', { errorCode: 'NACK' });
    await put('lis-mllp', 3 * MINUTE, 'processing', { messageType: 'ADT^A08' });
    await put('lis-mllp', 2 * 3_600_000, 'sent'); // outside the hour
    await put('emr-out', 30_000, 'queued', { direction: 'outbound', messageType: null });

    stats = new MonitorStats({ store, endpoints: source([listener()]) });
    const snap = await stats.snapshot();
    const lis = snap.endpoints.find((e) => e.name === 'lis-mllp')!;
    expect(lis.lastHour).toEqual({ received: 3, inFlight: 1, sent: 1, queued: 0, filtered: 0, errored: 1 });
    expect(lis.perMinute.received).toBeCloseTo(0.6, 5); // 3 in 5 minutes
    expect(lis).toMatchObject({ kind: 'mllp-listener', state: 'listening', connections: 1, flows: [{ id: 'f1', label: 'Lab results' }] });
    expect(lis.types).toEqual(expect.arrayContaining(['ORU^R01', 'ADT^A08']));
    expect(new Date(lis.lastMessageAt!).getTime()).toBeGreaterThan(Date.now() - 15_000);
    expect(lis.spark).toHaveLength(60);
    expect(lis.spark.reduce((a, b) => a + b, 0)).toBe(3);

    const emr = snap.endpoints.find((e) => e.name === 'emr-out')!;
    expect(emr).toMatchObject({ kind: 'store', state: 'unknown', direction: 'outbound', flows: [] });
    expect(emr.lastHour.queued).toBe(1);

    expect(snap.totals.lastHour).toEqual({ received: 4, inFlight: 1, sent: 1, queued: 1, filtered: 0, errored: 1 });
    expect(snap.flows).toEqual([{ id: 'f1', label: 'Lab results', disabled: false, endpoints: ['lis-mllp'] }]);
    expect(snap.series.received).toHaveLength(360);
    expect(snap.series.received.reduce((a, b) => a + b, 0)).toBe(4);
    expect(snap.series.outbound.reduce((a, b) => a + b, 0)).toBe(1);
    expect(snap.series.errored.reduce((a, b) => a + b, 0)).toBe(1);
    // Receipt-to-sent latency of the sent message received 10 s "ago" and stored now.
    expect(snap.series.latencyP95Ms.some((v) => v !== null && v >= 9_000)).toBe(true);
    expect(snap.queues).toBeNull();

    const wire = JSON.stringify(snap);
    for (const secret of ['CTL-SECRET-1', 'MRN-SECRET-1', store.patientKey('MRN-SECRET-1'), 'MSH|']) expect(wire).not.toContain(secret);
  });

  test('a configured endpoint without traffic shows with zero counts; later messages show up on the next tick', async () => {
    stats = new MonitorStats({ store, endpoints: source([listener({ connections: 0, peers: [] })]) });
    const first = await stats.snapshot();
    expect(first.endpoints.map((e) => e.name)).toEqual(['lis-mllp']);
    expect(first.endpoints[0]!.lastHour.received).toBe(0);
    expect(first.endpoints[0]!.lastMessageAt).toBeNull();
    await put('lis-mllp', 0, 'received');
    await stats.tick();
    const next = await stats.snapshot();
    expect(next.seq).toBeGreaterThan(first.seq);
    expect(next.endpoints[0]!.lastHour.received).toBe(1);
    expect(next.series.received[next.series.received.length - 1]).toBe(1);
  });

  test('subscribers get JSON snapshots; close ends them', async () => {
    await put('lis-mllp', 1000, 'sent');
    stats = new MonitorStats({ store, tickMs: 50 });
    const got: string[] = [];
    let closed = false;
    stats.subscribe((json) => got.push(json), () => (closed = true));
    while (got.length < 2) await new Promise((r) => setTimeout(r, 20));
    expect(JSON.parse(got[1]!).endpoints[0].name).toBe('lis-mllp');
    expect(stats.subscriberCount).toBe(1);
    await stats.close();
    expect(closed).toBe(true);
  });

  test('uses a store that can count by group in one query instead of counting per endpoint and status', async () => {
    await put('lis-mllp', 1000, 'sent');
    const countGroups = jest.fn(async () => [
      { endpoint: 'lis-mllp', status: 'sent' as const, count: 7 },
      { endpoint: 'lis-mllp', status: 'error' as const, count: 2 },
    ]);
    const grouped = Object.assign(Object.create(store) as EncryptedMessageStore, { countGroups }) as EncryptedMessageStore & GroupCountingStore;
    const count = jest.spyOn(store, 'count');
    stats = new MonitorStats({ store: grouped });
    const snap = await stats.snapshot();
    expect(countGroups).toHaveBeenCalledTimes(2);
    expect(snap.endpoints[0]!.lastHour).toMatchObject({ received: 9, sent: 7, errored: 2 });
    expect(count.mock.calls.some(([q]) => q?.status !== undefined && q.endpoint !== undefined)).toBe(false);
  });

  test('the hour’s backfill counts the series and sparklines with one grouped query each, and draws the same charts as counting bucket by bucket', async () => {
    await put('lis-mllp', 10_000, 'sent');
    await put('lis-mllp', 25_000, 'error', { errorCode: 'NACK' });
    await put('lis-mllp', 7 * MINUTE, 'sent');
    await put('emr-out', 50 * MINUTE, 'queued', { direction: 'outbound' });
    const byTime = jest.spyOn(store, 'countByTime');
    const count = jest.spyOn(store, 'count');
    stats = new MonitorStats({ store });
    const grouped = await stats.snapshot();
    await stats.close();
    // The series (360 buckets) and each endpoint's sparkline (60 minutes): one query each. What is left counted
    // bucket by bucket is the tick's own recount of the newest buckets (3, three counts each) and minutes (2 an endpoint).
    const shortCounts = (): number => count.mock.calls.filter(([q]) => q?.from !== undefined && q.to !== undefined && q.to.getTime() - q.from.getTime() <= MINUTE).length;
    expect(byTime).toHaveBeenCalledTimes(3);
    expect(shortCounts()).toBeLessThanOrEqual(3 * 3 + 2 * 2);
    count.mockClear();

    // A store without the grouped count: the same charts from counts bucket by bucket.
    const plain = Object.assign(Object.create(store) as EncryptedMessageStore, { countByTime: undefined }) as EncryptedMessageStore;
    stats = new MonitorStats({ store: plain });
    const perBucket = await stats.snapshot();
    expect(shortCounts()).toBeGreaterThan(360);
    expect(grouped.series).toEqual(perBucket.series);
    expect(grouped.endpoints.map((e) => [e.name, e.spark])).toEqual(perBucket.endpoints.map((e) => [e.name, e.spark]));
    expect(grouped.series.received.reduce((a, b) => a + b, 0)).toBe(4);
    expect(grouped.series.errored.reduce((a, b) => a + b, 0)).toBe(1);
    expect(grouped.endpoints.find((e) => e.name === 'lis-mllp')!.spark.reduce((a, b) => a + b, 0)).toBe(3);
  });

  test('queue depths come from the provider when there is one', async () => {
    stats = new MonitorStats({
      store,
      queues: {
        list: async () => [
          { queue: 'lis-out', backend: 'embedded', ready: 3, delayed: 1, inFlight: 1, dead: 2, oldestWaitingAgeMs: 42_000 },
          { queue: 'emr-out', backend: 'embedded', ready: 7, delayed: 0, inFlight: 0, dead: 0, oldestWaitingAgeMs: 9_000, waitingFor: ['HUB_EMR_FHIR_URL'] },
        ],
      },
    });
    expect((await stats.snapshot()).queues).toEqual([
      { queue: 'lis-out', backend: 'embedded', ready: 3, delayed: 1, inFlight: 1, dead: 2, oldestWaitingAgeMs: 42_000, waitingFor: null },
      { queue: 'emr-out', backend: 'embedded', ready: 7, delayed: 0, inFlight: 0, dead: 0, oldestWaitingAgeMs: 9_000, waitingFor: ['HUB_EMR_FHIR_URL'] },
    ]);
  });

  test('ACK latency p95 comes from the metrics histogram, per 10 s bucket', async () => {
    const registry = new Registry();
    const ack = new Histogram({ name: 'hub_ack_latency_seconds', help: 'x', labelNames: ['endpoint'], buckets: [0.001, 0.005, 0.01, 0.05], registers: [registry] });
    stats = new MonitorStats({ store, metrics: registry });
    await stats.snapshot();
    for (let i = 0; i < 100; i++) ack.observe({ endpoint: 'lis' }, i < 90 ? 0.002 : 0.03);
    await stats.tick();
    const s = await stats.snapshot();
    const p95 = s.series.ackP95Ms.filter((v): v is number => v !== null);
    expect(p95).toHaveLength(1);
    expect(p95[0]).toBeGreaterThan(10);
    expect(p95[0]).toBeLessThanOrEqual(50);
  });
});

describe('quantiles', () => {
  test('nearest-rank percentile', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95)).toBe(10);
  });

  test('histogram quantile interpolates inside the bucket', () => {
    const h = new Map([
      [0.01, 50],
      [0.1, 100],
      [Infinity, 100],
    ]);
    expect(histogramQuantile(h, 0.5)).toBe(10);
    expect(histogramQuantile(h, 0.75)).toBe(55);
    expect(histogramQuantile(new Map([[Infinity, 0]]), 0.5)).toBeNull();
  });
});
