import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BodyCipher } from '../store/body-cipher';
import { createMessageQueue, parseQueueUrl } from './create-queue';
import { EmbeddedQueue } from './embedded-queue';
import { QueueConfigError } from './errors';
import { RabbitMqQueue } from './rabbitmq-queue';
import { SqsQueue } from './sqs-queue';

test('parses the queue URL of each backend', () => {
  expect(parseQueueUrl('embedded:')).toEqual({ kind: 'embedded', file: null });
  expect(parseQueueUrl('')).toEqual({ kind: 'embedded', file: null });
  expect(parseQueueUrl('embedded:/var/hub/q.db')).toEqual({ kind: 'embedded', file: '/var/hub/q.db' });
  expect(parseQueueUrl('amqps://hub:pw@mq.clinic.test/ivf')).toEqual({ kind: 'rabbitmq', url: 'amqps://hub:pw@mq.clinic.test/ivf' });
  expect(parseQueueUrl('sqs://eu-central-1')).toEqual({ kind: 'sqs', region: 'eu-central-1', endpoint: null });
  expect(parseQueueUrl('sqs://us-east-1?endpoint=http://127.0.0.1:4566')).toEqual({ kind: 'sqs', region: 'us-east-1', endpoint: 'http://127.0.0.1:4566' });
  expect(parseQueueUrl('sqs:')).toEqual({ kind: 'sqs', region: null, endpoint: null });
});

test('a bad URL is a config error that does not echo it (it may hold a password)', () => {
  expect(() => parseQueueUrl('kafka://user:s3cret@x')).toThrow(QueueConfigError);
  expect(() => parseQueueUrl('kafka://user:s3cret@x')).not.toThrow(/s3cret/);
});

test('the factory opens the configured backend, embedded in the data dir by default, and checks policies first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hub-cq-'));
  const cipher = new BodyCipher({ k: randomBytes(32) }, 'k');
  try {
    const q = await createMessageQueue({ url: 'embedded:', dataDir: dir, cipher, policies: { lis: { maxAttempts: 3 } } });
    expect(q).toBeInstanceOf(EmbeddedQueue);
    expect(q.policyFor('lis').maxAttempts).toBe(3);
    await q.ping();
    await q.close();
    await expect(createMessageQueue({ url: 'embedded:', dataDir: dir, cipher, policies: { lis: { maxAttempts: 0 } } })).rejects.toBeInstanceOf(QueueConfigError);
    const rabbit = await createMessageQueue({ url: 'amqp://guest:guest@127.0.0.1:1', dataDir: dir, cipher, closeTimeoutMs: 100 });
    expect(rabbit).toBeInstanceOf(RabbitMqQueue);
    await expect(rabbit.ping()).rejects.toMatchObject({ code: 'CONNECT_FAILED', retryable: true });
    await rabbit.close();
    const sqs = await createMessageQueue({ url: 'sqs://eu-central-1', dataDir: dir, cipher });
    expect(sqs).toBeInstanceOf(SqsQueue);
    await sqs.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
