import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMMULITE_IVF_STREAM } from '../../adapters/astm/fixtures/ivf-streams';
import type { Timers } from '../../adapters/astm/timers';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore, MessageStatus } from '../../adapters/store';
import { instrumentNode } from '../../test/support/astm-harness';
import { CapturingLogger, eventually } from '../../test/support/mllp-harness';
import { canariesIn } from '../../test/support/node-red-helper';
import { testStoreKeys } from '../../test/support/store-keys';
import { AnalyzerLink, QUERY_TIMEOUT_MS, RECOVER_AFTER_MS } from './analyzer-link';
import { readSettings } from './settings';
import type { AstmDelivery, AstmInstrumentDef } from './types';

const ENDPOINT = 'test-analyzer';
const QUERY = 'H|\\^&||PASSWORD|DPC||||SYSTEM||P|1|20261203101500\rQ|1|^123ABC||ALL||||||||O\rL|1\r';

/** Timers that fire only when the test says so. */
class HeldTimers implements Timers {
  readonly held = new Map<number, { fn: () => void; ms: number }>();
  private next = 1;
  setTimeout(fn: () => void, ms: number): number {
    const id = this.next++;
    this.held.set(id, { fn, ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.held.delete(handle as number);
  }
  fireAll(): void {
    const all = [...this.held.values()];
    this.held.clear();
    for (const t of all) t.fn();
  }
}

describe('AnalyzerLink recovery at start (messages a previous run stored and acknowledged and never processed)', () => {
  let dir: string;
  let store: EncryptedMessageStore;
  let logger: CapturingLogger;
  let timers: HeldTimers;
  let now: number;
  const links: AnalyzerLink[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-astm-recovery-'));
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    logger = new CapturingLogger();
    timers = new HeldTimers();
    now = Date.now();
  });

  afterEach(async () => {
    for (const link of links.splice(0)) await link.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    expect(canariesIn(logger.lines)).toEqual([]);
  });

  function link(withConsumer = true): { link: AnalyzerLink; deliveries: AstmDelivery[] } {
    const options = readSettings(instrumentNode('I1') as unknown as AstmInstrumentDef, { nodeId: 'I1' });
    const l = new AnalyzerLink(options, { store, logger, timers, clock: () => now });
    links.push(l);
    const deliveries: AstmDelivery[] = [];
    if (withConsumer) l.onDelivery({ delivery: (d) => deliveries.push(d), problem: () => undefined });
    return { link: l, deliveries };
  }

  /** What a run that crashed after the ACK left behind. */
  const leftover = async (status: MessageStatus, text = IMMULITE_IVF_STREAM): Promise<string> =>
    (await store.insert({ direction: 'inbound', endpoint: ENDPOINT, controlId: `C${Math.random()}`.slice(0, 12), messageType: 'ASTM', status, contentType: 'application/astm', body: text })).id;
  const statusOf = async (id: string): Promise<unknown> => (await store.get(id))?.status;

  test('left received: once untouched long enough it goes through mapping and the flow, same record, one attempt more', async () => {
    const first = await leftover('received');
    const second = await leftover('received');
    const { link: l, deliveries } = link();
    now += RECOVER_AFTER_MS + 1000;
    expect(await l.recoverInterrupted()).toEqual({ reprocessed: 2, interrupted: 0 });
    await eventually(() => deliveries.length === 2, 'both delivered');
    expect(deliveries.map((d) => d.id)).toEqual([first, second]);
    expect(deliveries[0]!.results.map((r) => r.test.code).sort()).toEqual(['E2', 'HCG', 'LH', 'PGSN']);
    await eventually(async () => (await statusOf(first)) === 'sent' && (await statusOf(second)) === 'sent', 'both sent');
    expect((await store.get(first))?.attempts).toBe(1);
    // Nothing left for the next pass.
    expect(await l.recoverInterrupted()).toEqual({ reprocessed: 0, interrupted: 0 });
    expect(logger.lines.find((x) => x.message.includes('recovered'))?.meta).toEqual({ endpoint: ENDPOINT, reprocessed: 2, interrupted: 0 });
  });

  test('touched too recently (it may be another live hub process’s): left alone, and taken by a later pass once old enough', async () => {
    const id = await leftover('received');
    const { link: l, deliveries } = link();
    expect(await l.recoverInterrupted()).toEqual({ reprocessed: 0, interrupted: 0 });
    expect(await statusOf(id)).toBe('received');
    const [next] = [...timers.held.values()].filter((t) => t.ms > 1000);
    expect(next?.ms).toBeGreaterThan(RECOVER_AFTER_MS - 1000);
    expect(next?.ms).toBeLessThanOrEqual(RECOVER_AFTER_MS + 1000);

    now += RECOVER_AFTER_MS + 1000;
    timers.fireAll();
    await eventually(() => deliveries.length === 1, 'delivered by the later pass');
    await eventually(async () => (await statusOf(id)) === 'sent', 'sent');
  });

  test('left processing (its host query was waiting for the flow): marked error INTERRUPTED once past the query timeout, not run again', async () => {
    const old = await leftover('processing', QUERY);
    const { link: l, deliveries } = link();
    now += RECOVER_AFTER_MS + 1000;
    // Within the query timeout: a live process may still be waiting for the flow's answer.
    expect(await l.recoverInterrupted()).toEqual({ reprocessed: 0, interrupted: 0 });
    now += QUERY_TIMEOUT_MS;
    expect(await l.recoverInterrupted()).toEqual({ reprocessed: 0, interrupted: 1 });
    expect(await store.get(old)).toMatchObject({ status: 'error', errorCode: 'INTERRUPTED' });
    expect(deliveries).toEqual([]);
  });

  test('a leftover whose stored copy no longer reads as ASTM is marked error INTERRUPTED, saying so, and the others still go through', async () => {
    const bad = await leftover('received', 'X|not an ASTM header\rL|1\r');
    const good = await leftover('received');
    const { link: l, deliveries } = link();
    now += RECOVER_AFTER_MS + 1000;
    expect(await l.recoverInterrupted()).toEqual({ reprocessed: 1, interrupted: 1 });
    expect(await store.get(bad)).toMatchObject({ status: 'error', errorCode: 'INTERRUPTED', errorText: expect.stringContaining('could not be read again') });
    await eventually(() => deliveries.length === 1, 'the readable one delivered');
    expect(deliveries[0]!.id).toBe(good);
  });

  test('no astm-in receiving yet: nothing is touched, it waits for a start that has one', async () => {
    const id = await leftover('received');
    const { link: l } = link(false);
    now += RECOVER_AFTER_MS + 1000;
    expect(await l.recoverInterrupted()).toEqual({ reprocessed: 0, interrupted: 0 });
    expect(await statusOf(id)).toBe('received');
  });

  test('another instrument’s records and outbound ones are not this link’s to recover', async () => {
    const other = (await store.insert({ direction: 'inbound', endpoint: 'other-analyzer', messageType: 'ASTM', status: 'received', contentType: 'application/astm', body: IMMULITE_IVF_STREAM })).id;
    const out = (await store.insert({ direction: 'outbound', endpoint: ENDPOINT, messageType: 'ASTM', status: 'processing', contentType: 'application/astm', body: QUERY })).id;
    const { link: l } = link();
    now += RECOVER_AFTER_MS + QUERY_TIMEOUT_MS + 1000;
    expect(await l.recoverInterrupted()).toEqual({ reprocessed: 0, interrupted: 0 });
    expect([await statusOf(other), await statusOf(out)]).toEqual(['received', 'processing']);
  });
});
