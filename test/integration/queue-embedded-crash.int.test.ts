import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedQueue } from '../../adapters/queue';
import { startWorker } from '../../adapters/queue/testing/worker-process';
import { BodyCipher } from '../../adapters/store';
import { waitFor } from '../contract/message-queue.contract';

/**
 * kill -9 of a process that is enqueuing and consuming on the embedded queue:
 * every enqueue that resolved is still there (or was handled), and every
 * message that was in a handler when the process died is delivered again.
 */
test('kill -9 mid-run loses no acknowledged enqueue and redelivers what was in flight', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hub-queue-crash-'));
  const key = randomBytes(32);
  const file = join(dir, 'queue.db');
  try {
    const worker = startWorker({
      backend: { kind: 'embedded', file, key: key.toString('base64') },
      queue: 'crash',
      enqueue: 20_000,
      enqueueConcurrency: 32,
      consume: { concurrency: 8, prefetch: 32, handlerDelayMs: 1, hangEvery: 50 },
    });
    await worker.ready;
    await waitFor('2,000 durable enqueues and some hung handlers', () => worker.enqueued.length >= 2000 && worker.hung.size >= 3, 30_000);
    worker.proc.kill('SIGKILL');
    expect((await worker.exited).signal).toBe('SIGKILL');
    const acknowledged = [...worker.enqueued];
    const hung = [...worker.hung];

    const queue = new EmbeddedQueue({ file, cipher: new BodyCipher({ k: key }, 'k') });
    const after = new Set<string>();
    try {
      await queue.consume('crash', async (m) => void after.add(m.id), { concurrency: 16, prefetch: 64 });
      await waitFor('the queue to drain after the restart', async () => {
        const s = await queue.stats('crash');
        return s.ready + s.inFlight + s.delayed === 0;
      }, 60_000);
      const handledBefore = worker.delivered;
      const lost = acknowledged.filter((id) => !after.has(id) && !handledBefore.has(id));
      expect(lost).toEqual([]);
      expect(hung.filter((id) => !after.has(id))).toEqual([]);
      // Bodies are sealed at rest: the plaintext is nowhere in the files.
      for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes('message 1')).toBe(false);
    } finally {
      await queue.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
