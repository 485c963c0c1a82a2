import { SqsQueue } from '../../adapters/queue';
import { startFauxqs } from '../support/fauxqs';
import type { Fauxqs } from '../support/fauxqs';
import { crashRun } from '../support/queue-hub';

let fauxqs: Fauxqs;
beforeAll(async () => {
  fauxqs = await startFauxqs();
});
afterAll(async () => {
  await fauxqs?.stop();
});

/**
 * kill -9 of a hub process consuming SQS (fauxqs) through a queue-in flow:
 * what it held becomes visible again when its visibility timeout (the
 * policy's 3 s lease) runs out, and the restarted hub delivers every one of
 * 10,000 messages.
 */
test('SQS: a hub killed mid-run loses no message; the restarted hub delivers the rest', async () => {
  const prefix = `hubcrash-${process.pid}-`;
  const result = await crashRun({
    queue: 'crash',
    // The AWS SDK in the hub wants credentials and a region even for a local endpoint; fauxqs checks neither.
    env: { HUB_QUEUE_URL: `sqs://us-east-1?endpoint=${encodeURIComponent(fauxqs.endpoint)}`, HUB_QUEUE_PREFIX: prefix, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    exclusive: false,
    open: async (cipher) => new SqsQueue({ prefix, cipher, closeTimeoutMs: 500, waitTimeSeconds: 1 }, { client: fauxqs.client() }),
  });
  expect(result.killSignal).toBe('SIGKILL');
  expect(result.deliveredBeforeKill).toBeGreaterThanOrEqual(2000);
  expect(result.deliveredBeforeKill).toBeLessThan(10_000);
  expect(result.enqueued.filter((id) => !result.distinct.has(id))).toEqual([]);
  expect(result.distinct.size).toBe(10_000);
}, 150_000);
