import { RabbitMqQueue } from '../../adapters/queue';
import { startWorker } from '../../adapters/queue/testing/worker-process';
import type { WorkerProcess } from '../../adapters/queue/testing/worker-process';
import { waitFor } from '../contract/message-queue.contract';
import { requireRabbitMq, TEST_AMQP_URL, uniqueRabbitPrefix } from '../support/rabbitmq';

const TOTAL = 10_000;
const KILL_AFTER = 3_000;

beforeAll(async () => {
  await requireRabbitMq();
});

/**
 * Scale-out: two hub processes (two connections) consume one RabbitMQ queue.
 * Both take part of the work, and a kill -9 of one mid-run loses nothing:
 * what it held unacknowledged goes to the other.
 */
test('two consumer processes share 10,000 messages; killing one mid-run loses none', async () => {
  const prefix = uniqueRabbitPrefix();
  const queueName = 'scaleout';
  const policy = { concurrency: 16, prefetch: 64 };
  const producer = new RabbitMqQueue({ url: TEST_AMQP_URL, prefix });
  const workers: WorkerProcess[] = [];
  try {
    await producer.declareQueue(queueName, policy);
    for (let i = 0; i < 2; i++) {
      workers.push(startWorker({ backend: { kind: 'rabbitmq', url: TEST_AMQP_URL, prefix }, queue: queueName, policy, consume: { concurrency: 16, prefetch: 64, handlerDelayMs: 2 } }));
    }
    await Promise.all(workers.map((w) => w.ready));
    const [victim, survivor] = workers as [WorkerProcess, WorkerProcess];

    const sent: string[] = [];
    let next = 0;
    const produce = async (): Promise<void> => {
      while (next < TOTAL) {
        next++;
        sent.push((await producer.enqueue(queueName, { body: `m${next}` })).id);
      }
    };
    const producing = Promise.all(Array.from({ length: 64 }, produce));
    const distinct = (): number => new Set([...victim.delivered, ...survivor.delivered]).size;
    await waitFor(`${KILL_AFTER} deliveries`, () => distinct() >= KILL_AFTER, 60_000);
    const victimBefore = victim.delivered.size;
    victim.proc.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    await producing;
    await waitFor(`all ${TOTAL} distinct deliveries`, () => distinct() >= TOTAL, 90_000);

    expect(sent).toHaveLength(TOTAL);
    const all = new Set([...victim.delivered, ...survivor.delivered]);
    expect(all.size).toBe(TOTAL);
    expect(sent.every((id) => all.has(id))).toBe(true);
    // Both processes did part of the work.
    expect(victimBefore).toBeGreaterThan(100);
    expect(survivor.delivered.size).toBeGreaterThan(100);
    await waitFor('the queue to be empty', async () => (await producer.stats(queueName)).ready === 0, 30_000);
  } finally {
    for (const w of workers) await w.stop();
    await producer.deleteQueue(queueName).catch(() => undefined);
    await producer.close();
  }
}, 150_000);
