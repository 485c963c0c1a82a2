import { join } from 'node:path';
import { EmbeddedQueue } from '../../adapters/queue';
import { crashRun } from '../support/queue-hub';

/**
 * kill -9 of a hub process consuming the embedded queue through a queue-in
 * flow: after a restart on the same data dir every one of 10,000 messages has
 * been delivered (what the killed hub held is delivered again) and the queue
 * is empty. See test/support/queue-hub.ts for the run.
 */
test('embedded queue: a hub killed mid-run loses no message; the restarted hub delivers the rest', async () => {
  const file = (dataDir: string): string => join(dataDir, 'queue', 'queue.db');
  const result = await crashRun({
    queue: 'crash',
    env: { HUB_QUEUE_URL: 'embedded:' },
    exclusive: true,
    open: async (cipher, dataDir) => new EmbeddedQueue({ file: file(dataDir), cipher }),
  });
  expect(result.killSignal).toBe('SIGKILL');
  expect(result.deliveredBeforeKill).toBeGreaterThanOrEqual(2000);
  expect(result.deliveredBeforeKill).toBeLessThan(10_000);
  expect(result.enqueued.filter((id) => !result.distinct.has(id))).toEqual([]);
  expect(result.distinct.size).toBe(10_000);
  expect(result.deliveries).toBeGreaterThanOrEqual(10_000);
}, 150_000);
