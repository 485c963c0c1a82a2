import { RabbitMqQueue } from '../../adapters/queue';
import { waitFor } from '../contract/message-queue.contract';
import { rabbitmqctl, requireRabbitMq, TEST_AMQP_URL, uniqueRabbitPrefix } from '../support/rabbitmq';

const TOTAL = 3000;
const STOP_AFTER = 800;

let stopped = false;
async function startBroker(): Promise<void> {
  await rabbitmqctl(['start_app'], 120_000);
  await rabbitmqctl(['await_startup'], 120_000);
  stopped = false;
}

beforeAll(async () => {
  await requireRabbitMq();
});

afterAll(async () => {
  // Belt and braces: never leave the machine's broker stopped for the next suite.
  if (stopped) await startBroker();
});

/**
 * `rabbitmqctl stop_app` / `start_app` in the middle of producing and
 * consuming: the adapter notices, reconnects by itself, declares its queues
 * again, publishes again what was not confirmed and resubscribes; every
 * message enqueued is delivered (some possibly twice, never none).
 */
test('a broker restart mid-run: the adapter reconnects by itself and loses nothing', async () => {
  const prefix = uniqueRabbitPrefix();
  const q = new RabbitMqQueue({ url: TEST_AMQP_URL, prefix, publishTimeoutMs: 120_000, reconnectMinMs: 100, reconnectMaxMs: 1000, closeTimeoutMs: 2000 });
  const events: string[] = [];
  q.on('connected', () => events.push('connected'));
  q.on('disconnected', () => events.push('disconnected'));
  const seen = new Map<string, number>();
  try {
    await q.ready();
    await q.declareQueue('restart', { concurrency: 8, prefetch: 32 });
    await q.consume('restart', async (m) => {
      seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 1));
    });
    const sent: string[] = [];
    let next = 0;
    const produce = async (): Promise<void> => {
      while (next < TOTAL) {
        next++;
        sent.push((await q.enqueue('restart', { body: `r${next}` })).id);
        // Spread the run so the restart lands in the middle of it.
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    const producing = Promise.all(Array.from({ length: 8 }, produce));
    await waitFor(`${STOP_AFTER} confirmed enqueues`, () => sent.length >= STOP_AFTER, 60_000);
    try {
      stopped = true;
      await rabbitmqctl(['stop_app'], 120_000);
      await waitFor('the adapter to notice', () => events.includes('disconnected'), 30_000);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await startBroker();
    }
    await producing;
    await waitFor(`all ${TOTAL} messages delivered`, () => sent.every((id) => seen.has(id)), 90_000);
    expect(sent).toHaveLength(TOTAL);
    expect(new Set(sent).size).toBe(TOTAL);
    // Connected at start, lost the broker, connected again by itself.
    expect(events.indexOf('disconnected')).toBeGreaterThanOrEqual(0);
    expect(events.lastIndexOf('connected')).toBeGreaterThan(events.indexOf('disconnected'));
    await q.ping();
    await waitFor('the queue to be empty', async () => (await q.stats('restart')).ready === 0, 30_000);
  } finally {
    await q.deleteQueue('restart').catch(() => undefined);
    await q.close();
  }
}, 240_000);
