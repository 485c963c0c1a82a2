import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CANARY_MRN } from '../../test/fixtures/canary';
import { CapturingLogger } from '../../test/support/mllp-harness';
import { canariesIn } from '../../test/support/node-red-helper';
import { testStoreKeys } from '../../test/support/store-keys';
import { createMessageStore } from '../store';
import type { EncryptedMessageStore, MessageRecord, MessageStatus } from '../store';
import { FOLLOW_TIMEOUT_MS, FollowedInbound } from './followed-inbound';
import type { FollowedInboundClock, Settle } from './followed-inbound';

const ENDPOINT = 'emr-events';
const NODE = 'in1';

/** A clock the test moves; timers fire only when the test says so. */
class HeldClock implements FollowedInboundClock {
  offset = 0;
  readonly held = new Map<number, { fn: () => void; at: number }>();
  private next = 1;
  now(): number {
    return Date.now() + this.offset;
  }
  setTimeout(fn: () => void, ms: number): number {
    const id = this.next++;
    this.held.set(id, { fn, at: this.now() + ms });
    return id;
  }
  clearTimeout(handle: never): void {
    this.held.delete(handle as number);
  }
  /** Moves the clock on and fires what is due. */
  advance(ms: number): void {
    this.offset += ms;
    for (const [id, t] of [...this.held]) {
      if (t.at > this.now()) continue;
      this.held.delete(id);
      t.fn();
    }
  }
}

interface Delivered {
  id: string;
  event: { text: string };
  settle: Settle;
  released: boolean;
}

describe('FollowedInbound: stored records settle on the flow, and leftovers of a previous run go through it again', () => {
  let dir: string;
  let store: EncryptedMessageStore;
  let logger: CapturingLogger;
  let clock: HeldClock;
  const open: FollowedInbound<{ text: string }>[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-followed-'));
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    logger = new CapturingLogger();
    clock = new HeldClock();
  });

  afterEach(async () => {
    for (const f of open.splice(0)) await f.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    expect(canariesIn(logger.lines)).toEqual([]);
  });

  function followed(nodeId = NODE): { intake: FollowedInbound<{ text: string }>; delivered: Delivered[] } {
    const delivered: Delivered[] = [];
    const intake = new FollowedInbound<{ text: string }>({
      store,
      endpoint: ENDPOINT,
      nodeId,
      logger,
      clock,
      prepare: (record) => {
        const text = record.body.toString();
        if (!text.startsWith('event')) throw new SyntaxError(`not an event: ${text}`);
        return { text };
      },
      deliver: (id, event, settle) => {
        const d: Delivered = { id, event, settle, released: false };
        delivered.push(d);
        return () => (d.released = true);
      },
    });
    open.push(intake);
    return { intake, delivered };
  }

  async function stored(body = `event for ${CANARY_MRN}`, nodeId = NODE, status: MessageStatus = 'processing'): Promise<MessageRecord> {
    return store.insert({ direction: 'inbound', endpoint: ENDPOINT, nodeId, controlId: 'evt', messageType: 'charge.posted', status, contentType: 'text/plain', body, patientId: CANARY_MRN });
  }

  async function statusOf(id: string): Promise<MessageRecord> {
    // Status writes are not awaited by the flow side; a read after them sees them.
    for (let i = 0; i < 100; i++) {
      const r = await store.get(id);
      if (r && r.status !== 'processing') return r;
      await new Promise((r) => setTimeout(r, 5));
    }
    return (await store.get(id))!;
  }

  test('the record becomes sent when the flow finishes with it', async () => {
    const { intake, delivered } = followed();
    const r = await stored();
    intake.send(r.id, { text: 'event' });
    expect(delivered.map((d) => d.id)).toEqual([r.id]);
    expect(intake.size).toBe(1);
    delivered[0]!.settle({});
    expect((await statusOf(r.id)).status).toBe('sent');
    expect(intake.size).toBe(0);
    expect(delivered[0]!.released).toBe(true);
  });

  test('a node error leaves it in error, named by class and code, without the error message', async () => {
    const { intake, delivered } = followed();
    const r = await stored();
    intake.send(r.id, { text: 'event' });
    delivered[0]!.settle({ error: Object.assign(new Error(`no account for ${CANARY_MRN}`), { code: 'E_ACCOUNT' }), nodeId: 'post-charge' });
    const after = await statusOf(r.id);
    expect(after).toMatchObject({ status: 'error', errorCode: 'FLOW_ERROR', errorText: 'node post-charge reported Error (E_ACCOUNT)' });
    expect(canariesIn([after])).toEqual([]);
  });

  test('a delivery that throws is a failure, not a crash', async () => {
    const intake = new FollowedInbound<{ text: string }>({
      store,
      endpoint: ENDPOINT,
      nodeId: NODE,
      logger,
      clock,
      prepare: () => ({ text: 'event' }),
      deliver: () => {
        throw new TypeError('cannot send');
      },
    });
    open.push(intake);
    const r = await stored();
    intake.send(r.id, { text: 'event' });
    expect(await statusOf(r.id)).toMatchObject({ status: 'error', errorCode: 'FLOW_ERROR', errorText: 'the flow reported TypeError (UNKNOWN)' });
  });

  test('a flow that outlasts the timeout leaves it in error TIMEOUT; its late completion changes nothing', async () => {
    const { intake, delivered } = followed();
    const r = await stored();
    intake.send(r.id, { text: 'event' });
    clock.advance(FOLLOW_TIMEOUT_MS);
    expect(await statusOf(r.id)).toMatchObject({ status: 'error', errorCode: 'TIMEOUT' });
    expect(delivered[0]!.released).toBe(true);
    delivered[0]!.settle({});
    await new Promise((r) => setTimeout(r, 30));
    expect((await store.get(r.id))?.status).toBe('error');
  });

  test('a reprocess goes back to processing with one attempt more; an unreadable copy is refused before anything changes', async () => {
    const { intake, delivered } = followed();
    const r = await stored();
    intake.send(r.id, { text: 'event' });
    delivered[0]!.settle({ error: new Error('down') });
    await statusOf(r.id);
    await intake.redeliver((await store.get(r.id, { includeBody: true }))!);
    expect(await store.get(r.id)).toMatchObject({ status: 'processing', errorCode: null, attempts: 1 });
    delivered[1]!.settle({});
    expect((await statusOf(r.id)).status).toBe('sent');

    const bad = await stored('garbage', NODE, 'error');
    await expect(intake.redeliver((await store.get(bad.id, { includeBody: true }))!)).rejects.toBeInstanceOf(SyntaxError);
    expect(await store.get(bad.id)).toMatchObject({ status: 'error', attempts: 0 });
  });

  test('recovery takes this node\'s leftovers untouched for the timeout, oldest first; not another node\'s, not one settled, not one in flight', async () => {
    const first = await stored('event one');
    const second = await stored('event two');
    const otherNode = await stored('event other', 'in9');
    const done = await stored('event done', NODE, 'sent');
    const { intake, delivered } = followed();
    const live = await stored('event live');
    intake.send(live.id, { text: 'event live' });
    clock.advance(FOLLOW_TIMEOUT_MS + 1);
    // `live` timed out meanwhile: it is settled, so not taken either.
    expect(await intake.recoverInterrupted()).toEqual({ recovered: 2, unreadable: 0 });
    expect(delivered.slice(1).map((d) => [d.id, d.event.text])).toEqual([
      [first.id, 'event one'],
      [second.id, 'event two'],
    ]);
    expect(await store.get(first.id)).toMatchObject({ status: 'processing', attempts: 1 });
    for (const d of delivered.slice(1)) d.settle({});
    expect((await statusOf(second.id)).status).toBe('sent');
    expect((await store.get(otherNode.id))?.status).toBe('processing');
    expect((await store.get(done.id))?.status).toBe('sent');
    expect(logger.lines).toContainEqual({ level: 'warn', message: 'intake recovered messages a previous run left unfinished', meta: { endpoint: ENDPOINT, recovered: 2, unreadable: 0 } });
  });

  test('a leftover too fresh to take (a restart soon after a crash) is taken by a later pass once old enough', async () => {
    const r = await stored();
    const { intake, delivered } = followed();
    clock.advance(FOLLOW_TIMEOUT_MS / 2);
    expect(await intake.recoverInterrupted()).toEqual({ recovered: 0, unreadable: 0 });
    expect(delivered).toHaveLength(0);
    clock.advance(FOLLOW_TIMEOUT_MS / 2 + 2);
    for (let i = 0; i < 100 && delivered.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(delivered.map((d) => d.id)).toEqual([r.id]);
  });

  test('a leftover whose stored copy cannot be read is marked error INTERRUPTED', async () => {
    const r = await stored('garbage');
    const { intake, delivered } = followed();
    clock.advance(FOLLOW_TIMEOUT_MS + 1);
    expect(await intake.recoverInterrupted()).toEqual({ recovered: 0, unreadable: 1 });
    expect(delivered).toHaveLength(0);
    expect(await store.get(r.id)).toMatchObject({ status: 'error', errorCode: 'INTERRUPTED' });
  });

  test('what a closing instance left in the flow is taken at once by its successor in this process (a redeploy)', async () => {
    const { intake, delivered } = followed();
    const r = await stored();
    intake.send(r.id, { text: 'event' });
    await intake.close();
    expect(delivered[0]!.released).toBe(true);
    delivered[0]!.settle({});
    expect((await store.get(r.id))?.status).toBe('processing');

    const next = followed();
    expect(await next.intake.recoverInterrupted()).toEqual({ recovered: 1, unreadable: 0 });
    expect(next.delivered.map((d) => d.id)).toEqual([r.id]);
  });
});
