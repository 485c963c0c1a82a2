import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BodyCipher } from '../store/body-cipher';
import type { Logger } from '../shared/logger';
import { CANARY_MRN, canaryOru } from '../../test/fixtures/canary';
import { waitFor } from '../../test/contract/message-queue.contract';
import type { Timers } from './deps';
import { EmbeddedQueue } from './embedded-queue';

let dir: string;
const cipher = new BodyCipher({ k: randomBytes(32) }, 'k');
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hub-equeue-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('bodies are sealed at rest: the plaintext is in no file of the queue', async () => {
  const q = new EmbeddedQueue({ file: join(dir, 'q.db'), cipher });
  await q.enqueue('lis', { body: canaryOru('C1'), key: 'pk-1' });
  await q.close();
  for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes(CANARY_MRN)).toBe(false);
});

test('a lease that is not renewed runs out; the stale holder cannot settle it any more', async () => {
  let offset = 0;
  const now = (): number => Date.now() + offset;
  const frozen: Timers = { setTimeout: () => 0, clearTimeout: () => undefined };
  const warnings: string[] = [];
  const logger: Logger = { debug: () => undefined, info: () => undefined, warn: (m) => void warnings.push(m), error: () => undefined };
  const file = join(dir, 'q.db');
  // B first: opening a queue takes back all leases, which is not what is tested here.
  const b = new EmbeddedQueue({ file, cipher, idlePollMs: 50 }, { now });
  // A's timers never fire: it never renews, like a process that hangs.
  const a = new EmbeddedQueue({ file, cipher }, { now, timers: frozen, logger });
  await a.declareQueue('q', { leaseMs: 1000 });
  await b.declareQueue('q', { leaseMs: 1000 });
  const { id } = await a.enqueue('q', { body: 'x' });
  let finishA!: () => void;
  const gotA: string[] = [];
  await a.consume('q', async (m) => {
    gotA.push(m.id);
    await new Promise<void>((r) => (finishA = r));
  });
  await waitFor('A to hold the message', () => gotA.length === 1);
  const gotB: number[] = [];
  await b.consume('q', async (m) => void gotB.push(m.attempts));
  await new Promise((r) => setTimeout(r, 200));
  expect(gotB).toEqual([]);
  offset += 1500;
  await waitFor('B to get it after the lease ran out', () => gotB.length === 1);
  expect(gotB).toEqual([2]);
  await waitFor('B to acknowledge it', async () => (await b.stats('q')).inFlight + (await b.stats('q')).ready === 0);
  finishA();
  await waitFor('A to notice its lease was lost', () => warnings.some((w) => w.includes('lease lost')));
  expect(gotA).toEqual([id]);
  await b.close();
  await a.close();
});

test('opening the queue takes back leases left by a process that died', async () => {
  const file = join(dir, 'q.db');
  const a = new EmbeddedQueue({ file, cipher, closeTimeoutMs: 100 });
  await a.enqueue('q', { body: 'x' });
  let held = false;
  await a.consume('q', () => {
    held = true;
    return new Promise<void>(() => undefined);
  });
  await waitFor('the lease', () => held);
  // A is still running, but as after a kill -9 its lease is on disk when B opens.
  const b = new EmbeddedQueue({ file, cipher });
  const got: number[] = [];
  await b.consume('q', async (m) => void got.push(m.attempts));
  await waitFor('the redelivery', () => got.length === 1);
  expect(got).toEqual([2]);
  await b.close();
  await a.close();
});

test('producers wait once maxPendingWrites enqueues are uncommitted', async () => {
  const q = new EmbeddedQueue({ file: join(dir, 'q.db'), cipher, maxPendingWrites: 4 });
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => q.enqueue('bp', { body: `m${i}` })));
  expect(results).toHaveLength(50);
  expect((await q.stats('bp')).ready).toBe(50);
  await q.close();
});
