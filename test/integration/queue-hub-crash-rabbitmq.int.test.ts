import { RabbitMqQueue } from '../../adapters/queue';
import { crashRun } from '../support/queue-hub';
import { requireRabbitMq, TEST_AMQP_URL, uniqueRabbitPrefix } from '../support/rabbitmq';

beforeAll(async () => {
  await requireRabbitMq();
});

/**
 * kill -9 of a hub process consuming RabbitMQ through a queue-in flow: the
 * broker returns its unacknowledged deliveries when the connection drops, and
 * the restarted hub delivers every one of 10,000 messages.
 */
test('RabbitMQ: a hub killed mid-run loses no message; the restarted hub delivers the rest', async () => {
  const prefix = uniqueRabbitPrefix();
  const result = await crashRun({
    queue: 'crash',
    env: { HUB_QUEUE_URL: TEST_AMQP_URL, HUB_QUEUE_PREFIX: prefix },
    exclusive: false,
    open: async (cipher) => new RabbitMqQueue({ url: TEST_AMQP_URL, prefix, cipher }),
  });
  expect(result.killSignal).toBe('SIGKILL');
  expect(result.deliveredBeforeKill).toBeGreaterThanOrEqual(2000);
  expect(result.deliveredBeforeKill).toBeLessThan(10_000);
  expect(result.enqueued.filter((id) => !result.distinct.has(id))).toEqual([]);
  expect(result.distinct.size).toBe(10_000);
}, 150_000);
