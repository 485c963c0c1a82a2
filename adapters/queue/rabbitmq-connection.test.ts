import { EventEmitter } from 'node:events';
import type { ChannelModel } from 'amqplib';
import { resolveDeps } from './deps';
import { QueueClosedError, QueueTimeoutError } from './errors';
import { RabbitMqConnection } from './rabbitmq-connection';
import type { RabbitMqConnectionOptions } from './rabbitmq-connection';

/** The slice of amqplib the connection uses, with confirms the test hands out. */
class FakeConfirmChannel extends EventEmitter {
  readonly sent: { queue: string; id: string; cb: (err: unknown) => void }[] = [];
  sendToQueue(queue: string, _content: Buffer, options: { messageId?: string }, cb: (err: unknown) => void): boolean {
    this.sent.push({ queue, id: String(options.messageId), cb });
    return true;
  }
  confirmAll(): void {
    for (const s of this.sent.splice(0)) s.cb(null);
  }
  async close(): Promise<void> {
    this.emit('close');
  }
}

class FakeModel extends EventEmitter {
  readonly publisher = new FakeConfirmChannel();
  readonly connection = {};
  closed = false;
  async createConfirmChannel(): Promise<FakeConfirmChannel> {
    return this.publisher;
  }
  async close(): Promise<void> {
    this.drop();
  }
  /** The broker goes away: unconfirmed publishes fail, then the connection closes. */
  drop(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.publisher.sent.splice(0)) s.cb(new Error('channel closed'));
    this.publisher.emit('close');
    this.emit('close', Object.assign(new Error('CONNECTION_FORCED'), { code: 320 }));
  }
}

const OPTIONS: RabbitMqConnectionOptions = {
  url: 'amqp://guest:secret@broker.test:5672',
  connectTimeoutMs: 1000,
  reconnectMinMs: 10,
  reconnectMaxMs: 20,
  maxUnconfirmed: 100,
  maxPending: 100,
  publishTimeoutMs: 2000,
  closeTimeoutMs: 200,
};

function setup(options: Partial<RabbitMqConnectionOptions> = {}, failFirst = 0) {
  const models: FakeModel[] = [];
  let attempts = 0;
  const connect = async (): Promise<ChannelModel> => {
    attempts++;
    if (attempts <= failFirst) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const m = new FakeModel();
    models.push(m);
    return m as unknown as ChannelModel;
  };
  const conn = new RabbitMqConnection({ ...OPTIONS, ...options }, connect, resolveDeps());
  return { conn, models, attempts: () => attempts };
}

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error('condition not reached');
};

test('a publish resolves on the broker confirm, not before', async () => {
  const { conn, models } = setup();
  conn.start();
  let done = false;
  const p = conn.publish('q', Buffer.from('x'), { messageId: 'a' }).then(() => (done = true));
  await until(() => models[0]?.publisher.sent.length === 1);
  await new Promise((r) => setTimeout(r, 20));
  expect(done).toBe(false);
  models[0]!.publisher.confirmAll();
  await p;
  expect(done).toBe(true);
  await conn.close();
});

test('keeps trying to connect with backoff and never logs the password', async () => {
  const lines: string[] = [];
  const log = (m: string, meta?: object): void => void lines.push(m + JSON.stringify(meta));
  const models: FakeModel[] = [];
  let n = 0;
  const conn = new RabbitMqConnection(
    OPTIONS,
    async () => {
      if (++n <= 3) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      const m = new FakeModel();
      models.push(m);
      return m as unknown as ChannelModel;
    },
    resolveDeps({ logger: { debug: log, info: log, warn: log, error: log } }),
  );
  conn.start();
  await conn.connection(2000);
  expect(n).toBe(4);
  expect(lines.join('\n')).toContain('broker.test:5672');
  expect(lines.join('\n')).not.toContain('secret');
  await conn.close();
});

test('after a reconnect: setup hooks run first, then unconfirmed publishes go out again in their order', async () => {
  const { conn, models } = setup();
  const order: string[] = [];
  conn.onSetup(async () => void order.push(`setup${models.length}`));
  conn.on('connected', () => order.push('connected'));
  conn.on('disconnected', () => order.push('disconnected'));
  conn.start();
  const ps = ['a', 'b', 'c'].map((id) => conn.publish('q', Buffer.from(id), { messageId: id }));
  await until(() => models[0]?.publisher.sent.length === 3);
  models[0]!.publisher.sent[0]!.cb(null);
  models[0]!.drop();
  await until(() => models[1]?.publisher.sent.length === 2);
  expect(models[1]!.publisher.sent.map((s) => s.id)).toEqual(['b', 'c']);
  models[1]!.publisher.confirmAll();
  await Promise.all(ps);
  expect(order).toEqual(['setup1', 'connected', 'disconnected', 'setup2', 'connected']);
  await conn.close();
});

test('an unconfirmed publish times out with a retryable error', async () => {
  const { conn, models } = setup({ publishTimeoutMs: 50 });
  conn.start();
  const p = conn.publish('q', Buffer.from('x'), { messageId: 'slow' });
  await expect(p).rejects.toBeInstanceOf(QueueTimeoutError);
  await expect(p).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true });
  expect(models[0]!.publisher.sent).toHaveLength(1);
  await conn.close();
});

test('producers wait once maxPending publishes are outstanding', async () => {
  const { conn, models } = setup({ maxPending: 2 });
  conn.start();
  const settled: string[] = [];
  const ps = ['a', 'b', 'c'].map((id) => conn.publish('q', Buffer.from(id), { messageId: id }).then(() => settled.push(id)));
  await until(() => models[0]?.publisher.sent.length === 2);
  await new Promise((r) => setTimeout(r, 20));
  expect(models[0]!.publisher.sent.map((s) => s.id)).toEqual(['a', 'b']);
  models[0]!.publisher.confirmAll();
  await until(() => models[0]!.publisher.sent.length === 1);
  models[0]!.publisher.confirmAll();
  await Promise.all(ps);
  expect(settled).toEqual(['a', 'b', 'c']);
  await conn.close();
});

test('close is bounded, idempotent and rejects what is still pending with a typed error', async () => {
  const { conn } = setup({}, 1_000_000);
  conn.start();
  const p = conn.publish('q', Buffer.from('x'), { messageId: 'never' });
  const t0 = Date.now();
  await conn.close();
  await conn.close();
  expect(Date.now() - t0).toBeLessThan(1000);
  await expect(p).rejects.toBeInstanceOf(QueueClosedError);
  await expect(conn.publish('q', Buffer.from('y'), {})).rejects.toBeInstanceOf(QueueClosedError);
});
