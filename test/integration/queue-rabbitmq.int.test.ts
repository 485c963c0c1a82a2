import { RabbitMqQueue } from '../../adapters/queue';
import { describeMessageQueueContract } from '../contract/message-queue.contract';
import { requireRabbitMq, TEST_AMQP_URL, uniqueRabbitPrefix } from '../support/rabbitmq';

beforeAll(async () => {
  await requireRabbitMq();
});

test('RabbitMQ is reachable (the suite fails, never skips, without it)', async () => {
  await expect(requireRabbitMq()).resolves.toBeUndefined();
});

test('an unreachable broker fails with a message naming RabbitMQ and how to start it', async () => {
  await expect(requireRabbitMq('amqp://guest:guest@127.0.0.1:1')).rejects.toThrow(/RabbitMQ is not reachable at amqp:\/\/127\.0\.0\.1:1 .*rabbitmq-server -detached/);
});

const prefix = uniqueRabbitPrefix();
let n = 0;
describeMessageQueueContract('RabbitMQ', {
  open: async (logger) => {
    const q = new RabbitMqQueue({ url: TEST_AMQP_URL, prefix, closeTimeoutMs: 500, publishTimeoutMs: 10_000 }, { logger });
    await q.ready();
    return q;
  },
  uniqueName: () => `q${++n}`,
});
