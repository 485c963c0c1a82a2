import { EventEmitter } from 'node:events';
import type { ChannelModel } from 'amqplib';
import { RabbitMqQueue } from './rabbitmq-queue';

/** Just enough of amqplib to watch what the adapter declares on each connection. */
class FakeChannel extends EventEmitter {
  constructor(private readonly log: string[]) {
    super();
  }
  async assertQueue(name: string): Promise<{ queue: string; messageCount: number; consumerCount: number }> {
    this.log.push(name);
    return { queue: name, messageCount: 0, consumerCount: 0 };
  }
  sendToQueue(_q: string, _c: Buffer, _o: unknown, cb: (err: unknown) => void): boolean {
    setImmediate(() => cb(null));
    return true;
  }
  async close(): Promise<void> {
    this.emit('close');
  }
}

class FakeModel extends EventEmitter {
  readonly connection = {};
  constructor(readonly log: string[]) {
    super();
  }
  async createChannel(): Promise<FakeChannel> {
    return new FakeChannel(this.log);
  }
  async createConfirmChannel(): Promise<FakeChannel> {
    return new FakeChannel(this.log);
  }
  async close(): Promise<void> {
    this.emit('close');
  }
}

test('after a broker restart the adapter declares its queues again before it reports connected', async () => {
  const models: FakeModel[] = [];
  const log: string[] = [];
  const queue = new RabbitMqQueue(
    { url: 'amqp://guest:guest@broker.test', prefix: 'p.', reconnectMinMs: 5, reconnectMaxMs: 10, closeTimeoutMs: 100 },
    {
      connect: async () => {
        const m = new FakeModel(log);
        models.push(m);
        return m as unknown as ChannelModel;
      },
    },
  );
  await queue.ready();
  await queue.declareQueue('lis', { backoff: { minMs: 1000, maxMs: 2000, factor: 2, jitter: 0 } });
  await queue.declareQueue('emr', { ordering: 'key', shards: 2 });
  const firstRound = [...log];
  expect(firstRound).toEqual(['p.lis.dead', 'p.lis.retry.1000', 'p.lis.retry.2000', 'p.lis', 'p.emr.dead', 'p.emr.s0', 'p.emr.s1']);
  log.length = 0;
  const events: string[] = [];
  queue.on('disconnected', () => events.push('disconnected'));
  queue.on('connected', () => events.push(`connected after ${log.length} declarations`));
  // Both connections drop, as on `rabbitmqctl stop_app`.
  for (const m of [...models]) m.emit('close', Object.assign(new Error('CONNECTION_FORCED'), { code: 320 }));
  for (let i = 0; i < 200 && !events.some((e) => e.startsWith('connected')); i++) await new Promise((r) => setTimeout(r, 5));
  expect(log).toEqual(firstRound);
  expect(events).toEqual(['disconnected', 'disconnected', `connected after ${firstRound.length} declarations`]);
  await queue.close();
});
