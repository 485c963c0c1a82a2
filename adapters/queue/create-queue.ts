import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { BodyCipher } from '../store/body-cipher';
import type { QueueDeps } from './deps';
import { EmbeddedQueue } from './embedded-queue';
import { QueueConfigError } from './errors';
import type { MessageQueue } from './message-queue';
import type { QueuePolicyInput } from './policy';
import { PolicyRegistry } from './policy-registry';
import { RabbitMqQueue } from './rabbitmq-queue';
import { SqsQueue } from './sqs-queue';

/** Where the queues live, parsed from `HUB_QUEUE_URL`. */
export type QueueLocation =
  | { kind: 'embedded'; file: string | null }
  | { kind: 'rabbitmq'; url: string }
  | { kind: 'sqs'; region: string | null; endpoint: string | null };

/**
 * Parses a queue URL: `embedded:` (the data dir), `embedded:/path/queue.db`,
 * `amqp://user:pass@host:5672/vhost` or `amqps://…`, `sqs:` (region from
 * the AWS environment), `sqs://eu-central-1`, optionally with
 * `?endpoint=http://127.0.0.1:4566` for an SQS-compatible server.
 * Errors never echo the URL (it may hold a password).
 */
export function parseQueueUrl(url: string): QueueLocation {
  if (url === 'embedded:' || url === '') return { kind: 'embedded', file: null };
  if (url.startsWith('embedded:')) return { kind: 'embedded', file: url.slice('embedded:'.length) };
  if (/^amqps?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new QueueConfigError('HUB_QUEUE_URL is not a valid amqp:// URL');
    }
    return { kind: 'rabbitmq', url };
  }
  if (url === 'sqs:' || url.startsWith('sqs://')) {
    if (url === 'sqs:') return { kind: 'sqs', region: null, endpoint: null };
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new QueueConfigError('HUB_QUEUE_URL is not a valid sqs:// URL');
    }
    return { kind: 'sqs', region: u.hostname || null, endpoint: u.searchParams.get('endpoint') };
  }
  throw new QueueConfigError('HUB_QUEUE_URL must be embedded:, embedded:<file>, amqp(s)://… or sqs://<region>');
}

export interface CreateQueueOptions {
  /** `HUB_QUEUE_URL`; see {@link parseQueueUrl}. */
  url: string;
  /** `HUB_DATA_DIR`: the embedded queue lives in `<dataDir>/queue/queue.db`. */
  dataDir: string;
  /** The store's cipher (`HUB_STORE_KEYS`): seals bodies at rest. */
  cipher: BodyCipher;
  /** `HUB_QUEUE_POLICIES`: per queue name. */
  policies?: Record<string, QueuePolicyInput>;
  /** `HUB_QUEUE_DEFAULT_POLICY`. */
  defaultPolicy?: QueuePolicyInput;
  /** `HUB_QUEUE_PREFIX`: broker object prefix. Default `hub.` (RabbitMQ) or `hub-` (SQS). */
  prefix?: string;
  /**
   * `HUB_QUEUE_ENCRYPT_BODIES`: seal bodies on RabbitMQ and SQS as well
   * (every hub process then needs the same store keys). Default true. The
   * embedded queue always seals.
   */
  encryptBrokerBodies?: boolean;
  closeTimeoutMs?: number;
}

/**
 * Opens the configured queue backend. Policies are validated first, so a bad
 * policy stops the hub at start rather than at the first failed message.
 * RabbitMQ connects in the background (and keeps reconnecting); `ping()`
 * tells readiness. The caller closes the queue.
 */
export async function createMessageQueue(o: CreateQueueOptions, deps: QueueDeps = {}): Promise<MessageQueue> {
  new PolicyRegistry(o.policies, o.defaultPolicy);
  const location = parseQueueUrl(o.url);
  const common = { policies: o.policies, defaultPolicy: o.defaultPolicy, closeTimeoutMs: o.closeTimeoutMs };
  const brokerCipher = o.encryptBrokerBodies === false ? undefined : o.cipher;
  switch (location.kind) {
    case 'embedded':
      return new EmbeddedQueue({ ...common, file: location.file || join(o.dataDir, 'queue', 'queue.db'), cipher: o.cipher }, deps);
    case 'rabbitmq':
      return new RabbitMqQueue({ ...common, url: location.url, prefix: o.prefix, cipher: brokerCipher }, deps);
    case 'sqs': {
      const client = new SQSClient({ ...(location.region ? { region: location.region } : {}), ...(location.endpoint ? { endpoint: location.endpoint } : {}) });
      return new SqsQueue({ ...common, prefix: o.prefix, cipher: brokerCipher }, { ...deps, client, ownsClient: true });
    }
  }
}
