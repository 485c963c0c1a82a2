import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryQueue, QueueDirectory } from '../../adapters/queue';
import { IntegrationError } from '../../adapters/shared/errors';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore } from '../../adapters/store';
import { testStoreKeys } from '../../test/support/store-keys';
import { QueueMessageOperations, queueStatusProvider } from './queue-operations';

describe('queue operations for the monitor', () => {
  let dir: string;
  let store: EncryptedMessageStore;
  let queue: InMemoryQueue;
  let directory: QueueDirectory;
  let ops: QueueMessageOperations;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-queue-ops-'));
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    queue = new InMemoryQueue();
    directory = new QueueDirectory(['a']);
    directory.register('b');
    for (const q of ['a', 'b']) await queue.declareQueue(q, { maxAttempts: 1, backoff: { minMs: 1, maxMs: 1, factor: 1, jitter: 0 } });
    ops = new QueueMessageOperations(queue, directory, store);
  });

  afterEach(async () => {
    await queue.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Stores a message, enqueues it under its hub id and fails it permanently (code NACK). */
  async function deadLetter(q: string, endpoint: string, body: string): Promise<string> {
    const record = await store.insert({ flowId: null, nodeId: null, direction: 'outbound', endpoint, controlId: null, messageType: null, sender: null, receiver: null, patientId: null, parentId: null, status: 'queued', contentType: 'text/plain', body: Buffer.from(body) });
    await queue.enqueue(q, { id: record.id, body });
    const dead = new Promise<void>((resolve) => queue.on('deadLettered', (info) => info.id === record.id && resolve()));
    const consumer = await queue.consume(q, async () => {
      throw new IntegrationError('NACK AR for control ID 1', 'NACK', false);
    });
    await dead;
    await consumer.close();
    return record.id;
  }

  async function nextDelivery(q: string): Promise<{ id: string; body: string; history: readonly { event: string }[] }> {
    return new Promise((resolve) => {
      void queue.consume(q, async (m) => resolve({ id: m.id, body: m.body.toString(), history: m.history })).then((c) => setImmediate(() => void c.close()));
    });
  }

  test('lists the depth of every known queue', async () => {
    await queue.enqueue('b', { body: 'x' });
    const list = await queueStatusProvider(queue, directory).list();
    expect(list.map((s) => [s.queue, s.ready])).toEqual([['a', 0], ['b', 1]]);
  });

  test('says which queues wait for configuration, and for which settings', async () => {
    const release = directory.hold('b', ['HUB_EMR_FHIR_URL']);
    let list = await queueStatusProvider(queue, directory).list();
    expect(list.map((s) => [s.queue, s.waitingFor])).toEqual([['a', null], ['b', ['HUB_EMR_FHIR_URL']]]);
    release();
    list = await queueStatusProvider(queue, directory).list();
    expect(list.map((s) => s.waitingFor)).toEqual([null, null]);
  });

  test('history of a dead letter: its failed attempt and the move to the dead letters; nothing for other ids', async () => {
    const id = await deadLetter('b', 'lis', 'body-1');
    const history = await ops.history(id);
    expect(history).toEqual([
      expect.objectContaining({ event: 'failed', attempt: 1, code: 'NACK', message: 'NACK AR for control ID 1' }),
      expect.objectContaining({ event: 'dead-lettered', reason: 'permanent' }),
    ]);
    expect(await ops.history('nope')).toEqual([]);
  });

  test('edit-and-replay finds the dead letter by hub message id in whichever queue holds it and keeps the id', async () => {
    const id = await deadLetter('b', 'lis', 'body-2');
    await ops.replay(id, 'fixed the OBX', Buffer.from('corrected'), 'olga');
    expect((await queue.stats('b')).dead).toBe(0);
    const again = await nextDelivery('b');
    expect(again).toMatchObject({ id, body: 'corrected' });
    expect(again.history.at(-1)).toMatchObject({ event: 'replayed', edited: true, by: 'olga' });
  });

  test('discard removes the dead letter; replay or discard of a message that is no dead letter is NOT_FOUND, not retryable', async () => {
    const id = await deadLetter('a', 'lis', 'body-3');
    await ops.discard(id, 'duplicate', 'olga');
    expect((await queue.stats('a')).dead).toBe(0);
    await expect(ops.replay(id, 'again', undefined, 'olga')).rejects.toMatchObject({ code: 'NOT_FOUND', retryable: false });
    await expect(ops.discard('unknown', 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('replayMatching replays only the dead letters among the matching stored messages', async () => {
    const lis1 = await deadLetter('a', 'lis', 'l1');
    const lis2 = await deadLetter('b', 'lis', 'l2');
    const emr = await deadLetter('a', 'emr', 'e1');
    expect(await ops.replayMatching({ endpoint: 'lis' }, 'destination back', 'olga')).toBe(2);
    const left = await queue.listDeadLetters('a');
    expect(left.items.map((d) => d.id)).toEqual([emr]);
    expect((await queue.listDeadLetters('b')).items).toEqual([]);
    expect((await queue.stats('a')).ready + (await queue.stats('b')).ready).toBe(2);
    expect([lis1, lis2]).not.toContain(emr);
  });
});
